"""The pages behind the links that end or restore a subscription.

- ``GET|POST /confirm/{token}``: the confirmation link mailed to a customer who asked for
  newsletters (double opt-in); GET only shows the consent wording and a button, POST activates
  them and keeps the proof: time, client hash, user agent, channel and the version of the wording
  shown (``preferences.optin.confirmation``). The link works once, and only while the request is
  open (7 days by default; then 410 with a way to sign up again).
- ``GET|POST /unsubscribe/{token}``: RFC 8058 one-click (POST ``List-Unsubscribe=One-Click``, no
  cookie, no CSRF token, 200, idempotent), and the page behind the link for humans; GET never
  changes anything (link scanners fetch it). A POST without that field and value (another value,
  JSON, text, an empty body) is a 400 that changes nothing. The page's button posts the same
  body, to the same URL with ``?via=page``, so the consent event names the channel it came from.
"""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from preferences import store
from preferences.consent import from_edition
from preferences.links import Purpose
from preferences.models import Channel, Status
from preferences.optin import wording
from preferences.optin.confirmation import confirm, is_expired, open_request
from preferences.optin.requests import Asked
from preferences.web.centre import Centre
from preferences.web.form_input import client, edition_in, keeping_edition, submitted_form
from preferences.web.snapshot import current, find_confirmable, find_for_write, read_snapshot
from preferences.web.views import NOT_FOUND, PageViews, Reader, problem

ONE_CLICK = ("List-Unsubscribe", "One-Click")  # RFC 8058 body field and value
VIA_PAGE = {"via": "page"}  # the query of the unsubscribe page's own form


class SubscriptionPages:
    def __init__(self, centre: Centre, views: PageViews) -> None:
        self.centre = centre
        self.views = views
        self.read = Reader(centre)

    def _preferences(self, request: Request, snap) -> str:
        # Kept with the edition: who goes on to narrow their choices instead counts for it.
        return keeping_edition(request, self.views.path_for(
            "preferences", self.centre.signer.sign(snap.public_id, Purpose.PREFERENCES)))

    # Confirm link ---------------------------------------------------------------------------

    async def confirm_page(self, request: Request) -> Response:
        return await run_in_threadpool(self._confirm, request, False)

    async def confirm(self, request: Request) -> Response:
        form = await submitted_form(request)
        if form is None:
            return problem("unreadable", 400)
        return await run_in_threadpool(self._confirm, request, True, form)

    def _confirm(self, request: Request, write: bool, form=None) -> Response:
        token = request.path_params["token"]
        catalogue = self.centre.catalogue()
        engine = self.centre.write_engine if write else self.centre.engine
        with Session(engine) as session:
            found = find_confirmable(self.centre, session, token, lock=write)
            if found is None:
                return problem(*NOT_FOUND)
            customer, snap = found
            locale, switch = self.views.locale(request, snap.locale, catalogue)
            request_ = open_request(session.connection(), customer.id)  # type: ignore[arg-type]
            if is_expired(request_):
                return self.views.render("confirm.html", locale, request, catalogue, status=410, switch=switch,
                                         done=False, expired=True,
                                         signup=self.views.path_for("signup") + f"?lang={locale}")
            shown = wording.text(wording.CONFIRM, locale, catalogue.newsletter_name(locale))
            version = wording.version_of(locale, shown)
            page = {"switch": switch, "consent": shown, "wording": version, "done": False, "expired": False,
                    "action": self.views.path_for("confirm_save", token) + (
                        f"?lang={locale}" if request.query_params.get("lang") else "")}
            if not write:
                return self.views.render("confirm.html", locale, request, catalogue, stale=False, **page)
            if form is None or form.get("wording") != version:  # the text changed since the page was shown
                return self.views.render("confirm.html", locale, request, catalogue, status=409, stale=True, **page)
            proof = Asked(Channel.PAGE, client_hash=client(request), user_agent=request.headers.get("user-agent"),
                          wording=wording.keep(session.connection(), locale, shown))
            welcome_back = (request_.requested or {}).get("created") is not True  # type: ignore[union-attr]
            confirm(session, customer, proof, known_groups=catalogue.product_groups, locales=catalogue.locales)
            snap = current(session, customer)
            session.commit()
        return self.views.render("confirm.html", locale, request, catalogue, done=True, welcome_back=welcome_back,
                                 what=self.views.summary(snap, catalogue, locale),
                                 preferences=self._preferences(request, snap))

    # One-click unsubscribe (RFC 8058) and its page ------------------------------------------

    async def unsubscribe_page(self, request: Request) -> Response:
        return await self.read(self._unsubscribe_page, request)

    def _unsubscribe_page(self, request: Request) -> Response:
        snap = read_snapshot(self.centre, request.path_params["token"], Purpose.UNSUBSCRIBE)
        if snap is None:
            return problem(*NOT_FOUND)
        catalogue = self.centre.catalogue()
        locale, switch = self.views.locale(request, snap.locale, catalogue)
        return self.views.render("unsubscribe.html", locale, request, catalogue, switch=switch,
                                 done=False, already=snap.status is Status.UNSUBSCRIBED,
                                 action=keeping_edition(request, self.views.path_for(
                                     "unsubscribe_save", request.path_params["token"]) + "?" + urlencode(VIA_PAGE)),
                                 one_click=ONE_CLICK,
                                 preferences=self._preferences(request, snap))

    async def unsubscribe(self, request: Request) -> Response:
        form = await submitted_form(request)
        if form is None:
            return problem("unreadable", 400)
        # The one field with the one value; other fields are ignored, so that a provider which
        # adds one still unsubscribes its user (a legal duty), but nothing else unsubscribes.
        if form.getlist(ONE_CLICK[0]) != [ONE_CLICK[1]]:
            return problem("not-one-click", 400)
        via_page = all(request.query_params.get(k) == v for k, v in VIA_PAGE.items())
        return await run_in_threadpool(self._unsubscribe, request, not via_page)

    def _unsubscribe(self, request: Request, one_click: bool) -> Response:
        catalogue = self.centre.catalogue()
        with Session(self.centre.write_engine) as session:
            found = find_for_write(self.centre, session, request.path_params["token"], Purpose.UNSUBSCRIBE)
            if found is None:
                return problem(*NOT_FOUND)
            customer, snap = found
            with from_edition(edition_in(request)):
                store.unsubscribe(session, customer, Channel.ONE_CLICK if one_click else Channel.PAGE,
                                  client(request))
            # Committed before the 200 is sent: a failing write raises and becomes a 503.
            session.commit()
        locale, _ = self.views.locale(request, snap.locale, catalogue)
        return self.views.render("unsubscribe.html", locale, request, catalogue, switch=None, done=True,
                                 already=False, action=None,
                                 preferences=self._preferences(request, snap))
