"""The preference centre as the engine hands it over: a `Centre` built from settings and content."""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import lru_cache
from typing import Callable

from sqlalchemy import Engine

from preferences.database import for_writes
from preferences.links import LinkSigner
from preferences.web.centre import Catalogue, Centre

from service.content.live import LiveContent
from service.content.model import Content
from service.content.problems import ContentError
from service.settings import Settings
from service.web.signup_limit import signup_limit

def catalogue_of(content: Content) -> Catalogue:
    # Upcoming editions are asked for by every page view with the first of the month; one
    # schedule walk per day asked, not per request.
    template = content.main_template()
    schedule = template.schedule
    return Catalogue(
        locales=content.audience.locales,
        product_groups={g.id: dict(g.labels) for g in content.product_groups.values()},
        attributes=content.audience.attributes,
        newsletter_names=dict(template.names),
        upcoming_editions=lru_cache(maxsize=64)(
            lambda day: tuple(schedule.editions(day, day + timedelta(days=400)))),
    )


def live_catalogue(live: LiveContent) -> Callable[[], Catalogue]:
    """The catalogue of the current content, rebuilt only when the content changes. While an
    editor's change has broken the content, customers keep the last good catalogue."""
    lock = threading.Lock()
    last: dict[str, object] = {}

    def catalogue() -> Catalogue:
        result = live.current()
        with lock:
            if result.content is None:
                if "catalogue" in last:
                    return last["catalogue"]  # type: ignore[return-value]
                raise ContentError(list(result.errors))
            if last.get("content") is not result.content:
                last["content"], last["catalogue"] = result.content, catalogue_of(result.content)
            return last["catalogue"]  # type: ignore[return-value]
    return catalogue


def centre_for(settings: Settings, live: LiveContent, engine: Engine) -> Centre:
    return Centre(engine=engine, write_engine=for_writes(engine), signer=LinkSigner(settings.link_keys),
                  base_url=settings.base_url, catalogue=live_catalogue(live),
                  api_keys=settings.api_keys, csrf_secret=settings.csrf_secret,
                  confirm_ttl=timedelta(days=settings.confirm_days),
                  signup_allowed=signup_limit(settings.signup_rate, settings.rate_limit_storage, settings.csrf_secret),
                  signup_origins=settings.signup_origins)
