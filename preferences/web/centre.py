"""What the preference centre's pages and API need from the outside, as plain values.

`preferences` never imports `service`: the engine builds a `Centre` from its settings and
content and hands it in. The catalogue is a callable because editors may change product groups
while the service runs; each request asks for the current one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable, Mapping, Sequence

from sqlalchemy import Engine

from preferences.attributes import Attribute
from preferences.links import LinkSigner


@dataclass(frozen=True, eq=False)
class Catalogue:
    """The customer-facing part of the content, for one moment.

    Compared and hashed by identity: one catalogue per version of the content, so what the
    pages work out from it (choices, summaries) can be cached with it as part of the key."""

    locales: tuple[str, ...]  # the first is the default
    product_groups: Mapping[str, Mapping[str, str]]  # id -> label per locale, catalogue order
    attributes: Mapping[str, Attribute]
    newsletter_names: Mapping[str, str]  # per locale, e.g. {"de": "Wöchentlicher Newsletter", ...}
    # Upcoming edition dates of the main newsletter from a day on, for "starting with the
    # edition of 7 December" (the due rules in preferences.due decide which one).
    upcoming_editions: Callable[[date], Sequence[date]]

    @property
    def default_locale(self) -> str:
        return self.locales[0]

    def newsletter_name(self, locale: str) -> str:
        return (self.newsletter_names.get(locale) or self.newsletter_names.get(self.default_locale)
                or next(iter(self.newsletter_names.values()), ""))

    def group_label(self, group_id: str, locale: str) -> str:
        labels = self.product_groups.get(group_id) or {}
        return labels.get(locale) or labels.get(self.default_locale) or group_id


@dataclass(frozen=True)
class Centre:
    """Everything the preference pages and the operator API run on."""

    engine: Engine  # reads
    write_engine: Engine  # preferences.database.for_writes(engine): SQLite BEGIN IMMEDIATE
    signer: LinkSigner
    base_url: str
    catalogue: Callable[[], Catalogue]
    # (name, secret) pairs; a bare secret is named by its place (key-1, ...). Events name the key.
    api_keys: tuple[tuple[str, str] | str, ...] = ()
    csrf_secret: bytes = b""
    today: Callable[[], date] = date.today
    confirm_ttl: timedelta = timedelta(days=7)  # how long a confirm link works
    # Whether a client (by its IP address) may sign up once more now: the service's rate limit.
    signup_allowed: Callable[[str], bool] = lambda client: True
    # The hosts of shop pages whose embedded signup forms are accepted (empty: any).
    signup_origins: frozenset[str] = frozenset()
