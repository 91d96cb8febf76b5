"""The signup page: ``GET /signup`` (the hosted form) and ``POST /signup`` (from it, or from a
shop's own page that embeds the documented form, ``?via=embed``).

No JavaScript, and abuse is refused without it: the hosted form is CSRF-protected
(``preferences.web.csrf``); a hidden honeypot field that people never see (``website``) makes a
robot's post answer like a success and do nothing; each client (by IP address) may sign up a few
times an hour (``Centre.signup_allowed``, 429 beyond); each address gets at most a few
confirmation mails a day (``preferences.optin.requests``). The answer to a valid signup is the
same whatever the address's state (new, pending, subscribed, suppressed): nobody can find out
who is on the list. Embedded forms may be limited to the shop's hosts (``signup_origins``).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from preferences import translations
from preferences.customers import normalise_email
from preferences.models import Channel
from preferences.optin import wording
from preferences.optin.requests import Asked, Signup, sign_up
from preferences.pending import MailQueued
from preferences.web.centre import Catalogue, Centre
from preferences.web.form_input import client, submitted_form
from preferences.web.views import PageViews, problem

log = logging.getLogger(__name__)

HONEYPOT = "website"
EMBED = ("via", "embed")
FIRST_NAME_LIMIT = 100


def _(message: str) -> str:
    return message  # marks a message for extraction; translated when the page is rendered


MESSAGES = {
    "email": _("Please enter a valid email address."),
    "first_name": _("Please use at most 100 characters, without line breaks."),
    "groups": _("Please choose at least one topic."),
    "locale": _("Please choose one of the languages offered."),
}


class SignupPages:
    def __init__(self, centre: Centre, views: PageViews, on_queued: MailQueued) -> None:
        self.centre, self.views, self.on_queued = centre, views, on_queued

    def _locale(self, request: Request, catalogue: Catalogue) -> tuple[str, list]:
        accepted = [part.split(";")[0].strip().split("-")[0].lower()
                    for part in request.headers.get("accept-language", "").split(",")[:8]]
        wanted = next((code for code in accepted if code in catalogue.locales), catalogue.default_locale)
        return self.views.locale(request, wanted, catalogue)

    def _page(self, request: Request, catalogue: Catalogue, locale: str, switch, *, status: int = 200,
              values: dict | None = None, errors: dict | None = None, chosen=None, **flags) -> Response:
        values = values or {"email": "", "first_name": "", "locale": locale}
        chosen = set(catalogue.product_groups) if chosen is None else chosen
        shown = wording.text(wording.SIGNUP, locale, catalogue.newsletter_name(locale))
        gettext = translations.for_locale(locale).gettext
        return self.views.render(
            "signup.html", locale, request, catalogue, status=status, switch=switch, values=values,
            errors={field: gettext(MESSAGES[field]) for field in errors or {}},
            groups=[(group, catalogue.group_label(group, locale), group in chosen) for group in catalogue.product_groups],
            locales=[(code, translations.language_name(code), code == values.get("locale")) for code in catalogue.locales],
            consent=shown, wording=wording.version_of(locale, shown),
            action=self.views.path_for("signup_save") + (f"?lang={locale}" if request.query_params.get("lang") else ""),
            **{"sent": False, "too_many": False, **flags})

    async def show(self, request: Request) -> Response:
        catalogue = self.centre.catalogue()
        locale, switch = self._locale(request, catalogue)
        return self._page(request, catalogue, locale, switch)

    async def save(self, request: Request) -> Response:
        form = await submitted_form(request)
        if form is None:
            return problem("unreadable", 400)
        catalogue = self.centre.catalogue()
        locale, switch = self._locale(request, catalogue)
        embedded = request.query_params.get(EMBED[0]) == EMBED[1]
        origin = _origin_host(request)
        if embedded and self.centre.signup_origins and origin not in self.centre.signup_origins:
            log.info("embedded signup from a host not allowed: %r", origin)
            return problem("forbidden-origin", 403)
        if form.get(HONEYPOT):  # a robot: answered like a person, nothing done
            return self._page(request, catalogue, locale, switch, sent=True)
        if not self.centre.signup_allowed(request.client.host if request.client else ""):
            return self._page(request, catalogue, locale, switch, status=429, too_many=True)
        signup, values, errors, chosen = _read(form, catalogue, locale)
        if errors or signup is None:
            return self._page(request, catalogue, locale, switch, status=422, values=values, errors=errors,
                              chosen=chosen)
        asked = Asked(Channel.SIGNUP, source=f"embedded:{origin or 'unknown'}"[:200] if embedded else "hosted",
                      client_hash=client(request), user_agent=request.headers.get("user-agent"),
                      wording=form.get("wording") if isinstance(form.get("wording"), str) else None)
        outcome = await run_in_threadpool(self._sign_up, signup, asked, catalogue, locale)
        log.info("signup: %s", outcome)
        self.on_queued()
        return self._page(request, catalogue, locale, switch if not embedded else None, sent=True)

    def _sign_up(self, signup: Signup, asked: Asked, catalogue: Catalogue, page_locale: str):
        with Session(self.centre.write_engine) as session:
            conn = session.connection()
            # The wording the form showed, in the page's language: the version it named if that
            # is the current text's or one kept before; else (an embedded form, a stale page) the
            # current text's, which the confirm page shows again before anything is sent.
            shown = wording.text(wording.SIGNUP, page_locale, catalogue.newsletter_name(page_locale))
            version = wording.keep(conn, page_locale, shown)
            if asked.wording != version and not wording.is_known(conn, asked.wording):
                asked = Asked(asked.channel, asked.source, asked.client_hash, asked.user_agent, version)
            outcome = sign_up(session, signup, asked, known_groups=tuple(catalogue.product_groups),
                              locales=catalogue.locales, ttl=self.centre.confirm_ttl)
            session.commit()
        return outcome


def _read(form, catalogue: Catalogue, locale: str):
    """The signup in ``form``, the values to show again, the fields in error, the groups chosen."""
    errors: dict[str, str] = {}
    raw_email, first = str(form.get("email") or "")[:400], str(form.get("first_name") or "")
    values = {"email": raw_email, "first_name": first[:FIRST_NAME_LIMIT], "locale": form.get("locale") or locale}
    try:
        email = normalise_email(raw_email)
    except ValueError:
        errors["email"], email = "email", ""
    first = first.strip()
    if len(first) > FIRST_NAME_LIMIT or any(ch in first for ch in "\r\n\t\x00") or not first.isprintable():
        errors["first_name"] = "first_name"
    chosen = {group for group in form.getlist("groups") if group in catalogue.product_groups}
    if catalogue.product_groups and not chosen:
        errors["groups"] = "groups"
    if values["locale"] not in catalogue.locales:
        errors["locale"], values["locale"] = "locale", locale
    if errors:
        return None, values, errors, chosen
    return Signup(email=email, locale=values["locale"], interests=frozenset(chosen),
                  first_name=first or None), values, errors, chosen


def _origin_host(request: Request) -> str | None:
    """The host of the page a form was posted from (Origin, else Referer), if it says."""
    for header in ("origin", "referer"):
        value = request.headers.get(header)
        if value and value != "null":
            host = urlsplit(value).hostname
            if host:
                return host.lower()
    return None
