"""How the preference pages look: the page language, the page for a customer's status, the
preference page with what the customer will get in words, and the page for a problem; and where
a page's read runs (``Reader``: where it costs least). Database trouble becomes a 503 page in
``preferences.web.errors``.

Every page is rendered after its transaction has ended: a page never holds the write lock.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Callable, TypeVar

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from preferences import translations
from preferences.links import Purpose
from preferences.models import Status
from preferences.web import i18n
from preferences.web.centre import Catalogue, Centre
from preferences.web.csrf import form_token
from preferences.web.form import Choices, FormState, explain
from preferences.web.form_input import keeping_edition
from preferences.web.snapshot import Snapshot
from preferences.web.wording import summary


NOT_FOUND = ("not-found", 404)
T = TypeVar("T")


def problem(kind: str, status: int, headers: dict[str, str] | None = None) -> HTMLResponse:
    """The bilingual page for a bad link ("not-found": the same body whatever the reason), an
    unreadable form, or a database that is unavailable."""
    return HTMLResponse(i18n.render("problem.html", translations.SOURCE_LOCALE, kind=kind, back=None),
                        status_code=status, headers={**i18n.PAGE_HEADERS, **(headers or {})})


def choices_html(locale: str, choices: Choices, messages: tuple[tuple[str, str], ...]) -> Markup:
    """The form's choices as HTML, with the field errors at their fields: a fragment of its own,
    so that it can be cached per state (``_choices``); what differs per customer (CSRF token,
    version, links) stays in centre.html."""
    return Markup(i18n.render("choices.html", locale, form=choices, messages=dict(messages)))


class Reader:
    """How a page runs what only reads: on SQLite in the event loop (a read in WAL mode never
    waits for a writer and costs far less than the hop to a worker thread and back); elsewhere in
    the thread pool (the read is a network round trip, which must not stall the other requests)."""

    def __init__(self, centre: Centre) -> None:
        self.inline = centre.engine.dialect.name == "sqlite"

    async def __call__(self, read: Callable[..., T], *args) -> T:
        if self.inline:
            return read(*args)
        return await run_in_threadpool(read, *args)


class PageViews:
    """Renders the pages of one preference centre."""

    def __init__(self, centre: Centre, last_delivery: Callable[[int], date | None] | None) -> None:
        self.centre = centre
        self.last_delivery = last_delivery
        self.routes: dict[str, Route] = {}  # by name: set by preferences.web.pages.routes

    def path_for(self, name: str, token: str | None = None) -> str:
        """The path of the named page route (for a link token, if its path has one)."""
        if token is None:
            return self.routes[name].url_path_for(name)
        return self.routes[name].url_path_for(name, token=token)

    def locale(self, request: Request, customer_locale: str, catalogue: Catalogue) -> tuple[str, list]:
        """The page language (asked for with ?lang=, else the customer's) and the links to the others."""
        offered = _offered(catalogue)
        asked = request.query_params.get("lang")
        locale = asked if asked in offered else translations.best_of([customer_locale, *offered])
        path = request.scope["path"]  # not request.url, which rebuilds the whole URL each time
        if path.endswith(("/unsubscribe", "/resubscribe")):
            path = path.rsplit("/", 1)[0]
        return locale, [(other, translations.language_name(other), keeping_edition(request, f"{path}?lang={other}"))
                        for other in offered if other != locale]

    def render(self, template: str, locale: str, request: Request, catalogue: Catalogue, *,
               status: int = 200, **context) -> HTMLResponse:
        context.setdefault("switch", None)
        body = i18n.render(template, locale, newsletter=catalogue.newsletter_name(locale),
                           csrftoken=lambda: form_token(request.scope), **context)
        return HTMLResponse(body, status_code=status, headers=i18n.PAGE_HEADERS)

    def state_page(self, request: Request, snap: Snapshot, catalogue: Catalogue, *,
                   status: int = 200, notice: str | None = None) -> HTMLResponse:
        """The page for the customer's status: the choices, or "unsubscribed", or "pending"."""
        if snap.status is Status.ACTIVE:
            return self.centre_page(request, snap, catalogue, status=status, notice=notice)
        locale, switch = self.locale(request, snap.locale, catalogue)
        token = self.centre.signer.sign(snap.public_id, Purpose.PREFERENCES)
        return self.render("status.html", locale, request, catalogue, status=status, switch=switch,
                           pending=snap.status is Status.PENDING, notice=notice,
                           first_name=snap.first_name,
                           resubscribe=keeping_edition(request, self.path_for("preferences_resubscribe", token)),
                           unsubscribe=keeping_edition(request, self.path_for("preferences_unsubscribe", token)))

    def centre_page(self, request: Request, snap: Snapshot, catalogue: Catalogue, *, status: int = 200,
                    notice: str | None = None, state: FormState | None = None,
                    errors: dict[str, str] | None = None) -> HTMLResponse:
        """The preference page: the choices as a form, and what the customer gets now."""
        today = self.centre.today()
        locale, switch = self.locale(request, snap.locale, catalogue)
        state = state or FormState.of(snap, catalogue, today)
        token = self.centre.signer.sign(snap.public_id, Purpose.PREFERENCES)
        base = self.path_for("preferences_save", token)
        messages = explain(errors, translations.for_locale(locale).gettext, locale, today) if errors else {}
        return self.render(
            "centre.html", locale, request, catalogue, status=status, switch=switch, notice=notice,
            first_name=snap.first_name, version=snap.version, messages=messages,
            what=self.summary(snap, catalogue, locale),
            choices=_choices(state, snap.paused_until, catalogue, locale, today, tuple(messages.items())),
            action=keeping_edition(request, base + (f"?lang={locale}" if request.query_params.get("lang") == locale
                                                    else "")),
            unsubscribe=keeping_edition(request, self.path_for("preferences_unsubscribe", token)))

    def summary(self, snap: Snapshot, catalogue: Catalogue, locale: str) -> str:
        """What the customer will get, in words, in ``locale``."""
        last = self.last_delivery(snap.customer_id) if self.last_delivery else None
        return _summary(snap.frequency, snap.paused_until, snap.excluded_groups, last, catalogue, locale,
                        self.centre.today())


@lru_cache(maxsize=16)
def _offered(catalogue: Catalogue) -> tuple[str, ...]:
    """The languages a page can be switched to: the newsletter's that the pages are written in."""
    return tuple(locale for locale in catalogue.locales if locale in translations.available())


# Most customers share a few states (weekly, no pause, every group): what a page shows for a
# state is worked out once per state, day, language and catalogue, not once per view.

@lru_cache(maxsize=1024)
def _choices(state: FormState, paused_until: date | None, catalogue: Catalogue, locale: str, today: date,
             messages: tuple[tuple[str, str], ...]) -> Markup:
    gettext = translations.for_locale(locale).gettext
    return choices_html(locale, state.view(paused_until, catalogue, locale, today, gettext), messages)


@lru_cache(maxsize=1024)
def _summary(frequency: str, paused_until: date | None, excluded_groups: tuple[str, ...],
             last_delivery: date | None, catalogue: Catalogue, locale: str, today: date) -> str:
    return summary(gettext=translations.for_locale(locale).gettext, locale=locale, catalogue=catalogue, today=today,
                   frequency=frequency, paused_until=paused_until, excluded_groups=excluded_groups,
                   last_delivery=last_delivery)
