"""The preference centre's pages: the customer's own choices behind a signed link.

``routes(centre)`` gives the Starlette routes; wrap the app in ``preferences.csrf.protect``.

- ``GET|POST /preferences/{token}``: the choices (frequency, pause, product groups, language);
  saving answers in words what the customer will now get. A form built from an older version of
  the choices gets 409 and changes nothing.
- ``POST /preferences/{token}/unsubscribe``: the page's "unsubscribe from everything".
- ``POST /preferences/{token}/resubscribe``: an unsubscribed customer asks for newsletters again;
  they become pending and get a confirmation email (``on_confirmation_needed``). A leaked link
  can narrow consent but never widen it back by itself.
- ``GET|POST /confirm/{token}``: the confirmation link of that email; GET only shows a button.
- ``GET|POST /unsubscribe/{token}``: RFC 8058 one-click (POST ``List-Unsubscribe=One-Click``, no
  cookie, no CSRF token, 200, idempotent), and the page behind the link for humans; GET never
  changes anything (link scanners fetch it).

Every bad link (malformed, tampered, other purpose, unknown customer) gets the same 404 page. A
database that fails a write answers 503, never a false success. No URL carries an email address
or a database id: only the signed token of the customer's random public id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from preferences import i18n, store
from preferences.centre import Catalogue, Centre
from preferences.consent import client_hash
from preferences.csrf import form_token
from preferences.errors import BadLink, InvalidPreference, StaleForm, UnknownCustomer
from preferences.links import Purpose, unverified_public_id
from preferences.models import Channel, Customer, Preference, Status
from preferences.page_form import FormState, error_codes, explain, read_form
from preferences.wording import summary

log = logging.getLogger(__name__)

ONE_CLICK = ("List-Unsubscribe", "One-Click")  # RFC 8058 body field and value
MAX_FORM_FIELDS = 300


@dataclass(frozen=True)
class PendingCustomer:
    """A customer who asked for newsletters again: mail them ``confirm_url`` (valid once)."""

    customer_id: int
    public_id: str
    email: str
    first_name: str | None
    locale: str
    confirm_url: str


@dataclass(frozen=True)
class Snapshot:
    """A customer's state as a page shows it, read inside one transaction."""

    customer_id: int
    public_id: str
    email: str
    first_name: str | None
    locale: str
    status: Status
    frequency: str
    paused_until: date | None
    excluded_groups: tuple[str, ...]
    version: int

    @classmethod
    def of(cls, customer: Customer, preference: Preference) -> "Snapshot":
        return cls(customer.id, customer.public_id, customer.email, customer.first_name,  # type: ignore[arg-type]
                   customer.locale, Status(customer.status), preference.frequency,
                   preference.paused_until, tuple(preference.excluded_groups), preference.version)


def _no_op(_: PendingCustomer) -> None:
    return None


def routes(
    centre: Centre,
    *,
    on_confirmation_needed: Callable[[PendingCustomer], None] = _no_op,
    last_delivery: Callable[[int], date | None] | None = None,
) -> list[BaseRoute]:
    """The preference centre's routes.

    ``on_confirmation_needed``: called (after the commit) when a customer asked to get
    newsletters again; it should mail them the confirm link. ``last_delivery``: the date of a
    customer's latest delivery of the main newsletter by customer id, if the caller can tell
    (it makes "starting with the edition of ..." exact for fortnightly readers).
    """
    pages = _Pages(centre, on_confirmation_needed, last_delivery)
    return [
        Route("/preferences/{token}", pages.show, methods=["GET"]),
        Route("/preferences/{token}", pages.save, methods=["POST"]),
        Route("/preferences/{token}/unsubscribe", pages.unsubscribe_from_page, methods=["POST"]),
        Route("/preferences/{token}/resubscribe", pages.resubscribe, methods=["POST"]),
        Route("/confirm/{token}", pages.confirm_page, methods=["GET"]),
        Route("/confirm/{token}", pages.confirm, methods=["POST"]),
        Route("/unsubscribe/{token}", pages.unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe/{token}", pages.unsubscribe, methods=["POST"]),
    ]


def problem(kind: str, status: int, headers: dict[str, str] | None = None) -> HTMLResponse:
    """The bilingual page for a bad link ("not-found": the same body whatever the reason), an
    unreadable form, or a database that is unavailable."""
    return HTMLResponse(i18n.render("problem.html", i18n.SOURCE_LOCALE, kind=kind, back=None),
                        status_code=status, headers={**i18n.PAGE_HEADERS, **(headers or {})})


NOT_FOUND = ("not-found", 404)


def _guarded(handler: Callable[..., Awaitable[Response]]):
    """Database trouble becomes a 503 page (never a false success, never a traceback)."""
    @wraps(handler)
    async def guarded(self, request: Request) -> Response:
        try:
            return await handler(self, request)
        except SQLAlchemyError:
            log.exception("database error on %s %s", request.method, request.url.path.split("/")[1])
            return problem("unavailable", 503, {"Retry-After": "60"})
    return guarded


class _Pages:
    def __init__(self, centre: Centre, on_confirmation_needed, last_delivery) -> None:
        self.centre = centre
        self.on_confirmation_needed = on_confirmation_needed
        self.last_delivery = last_delivery

    # The preference page ------------------------------------------------------------------

    @_guarded
    async def show(self, request: Request) -> Response:
        return await run_in_threadpool(self._show, request)

    def _show(self, request: Request) -> Response:
        with Session(self.centre.engine) as session:
            snap = self._find(session, request.path_params["token"], Purpose.PREFERENCES)
        if snap is None:
            return problem(*NOT_FOUND)
        return self._state_page(request, snap, self.centre.catalogue())

    @_guarded
    async def save(self, request: Request) -> Response:
        form = await _form(request)
        if form is None:
            return problem("unreadable", 400)
        return await run_in_threadpool(self._save, request, form)

    def _save(self, request: Request, form: FormData) -> Response:
        catalogue, today = self.centre.catalogue(), self.centre.today()
        state, errors, events = None, {}, []
        with Session(self.centre.write_engine) as session:
            found = self._find_for_write(session, request.path_params["token"], Purpose.PREFERENCES)
            if found is None:
                return problem(*NOT_FOUND)
            customer, snap = found
            version = _version(form.get("version"))
            if snap.status is not Status.ACTIVE:
                outcome, status = None, 409
            elif version is None:
                outcome, status = "incomplete", 400
            elif version != snap.version:
                outcome, status = "stale", 409
            else:
                changes, errors, state = read_form(form, snap, catalogue, today)
                outcome, status = (None, 422) if errors else ("saved", 200)
            if outcome == "saved":
                try:
                    events = store.change_preferences(
                        session, customer, changes, Channel.PAGE, version, _client(request),
                        today=today, known_groups=catalogue.product_groups, locales=catalogue.locales)
                    snap = _current(session, customer)
                    session.commit()
                except StaleForm:  # saved by another request since we read it
                    session.rollback()
                    snap, outcome, status = _current(session, customer), "stale", 409
                except InvalidPreference as error:
                    session.rollback()
                    errors, outcome, status = error_codes(error.errors), None, 422
        # Rendered after the transaction: a page never holds the write lock.
        if snap.status is not Status.ACTIVE:
            return self._state_page(request, snap, catalogue, status=status)
        if outcome == "saved" and not events:
            outcome = "unchanged"
        return self._centre(request, snap, catalogue, status=status, notice=outcome,
                            state=state if errors else None, errors=errors)

    # Unsubscribe and subscribe again from the page --------------------------------------------

    @_guarded
    async def unsubscribe_from_page(self, request: Request) -> Response:
        return await run_in_threadpool(self._set_status, request, False)

    @_guarded
    async def resubscribe(self, request: Request) -> Response:
        return await run_in_threadpool(self._set_status, request, True)

    def _set_status(self, request: Request, resubscribe: bool) -> Response:
        catalogue = self.centre.catalogue()
        with Session(self.centre.write_engine) as session:
            found = self._find_for_write(session, request.path_params["token"], Purpose.PREFERENCES)
            if found is None:
                return problem(*NOT_FOUND)
            customer, snap = found
            if resubscribe and snap.status is Status.ACTIVE:
                return self._state_page(request, snap, catalogue)
            change = store.resubscribe_pending if resubscribe else store.unsubscribe
            change(session, customer, Channel.PAGE, _client(request))
            snap = _current(session, customer)
            context = store.confirm_link_context(session.get(Preference, customer.id))  # type: ignore[arg-type]
            session.commit()
        notice = "sent" if resubscribe else "unsubscribed"
        if snap.status is Status.PENDING:
            # Resubscribing, or asking again for a lost email: either way, mail the link.
            url = self.centre.signer.url(self.centre.base_url, snap.public_id, Purpose.CONFIRM, context)
            try:
                self.on_confirmation_needed(PendingCustomer(snap.customer_id, snap.public_id, snap.email,
                                                            snap.first_name, snap.locale, url))
            except Exception:
                log.exception("the confirmation email could not be sent")
                return self._state_page(request, snap, catalogue, status=503, notice="not-sent")
        return self._state_page(request, snap, catalogue, notice=notice)

    # Confirm link ---------------------------------------------------------------------------

    @_guarded
    async def confirm_page(self, request: Request) -> Response:
        return await run_in_threadpool(self._confirm, request, False)

    @_guarded
    async def confirm(self, request: Request) -> Response:
        return await run_in_threadpool(self._confirm, request, True)

    def _confirm(self, request: Request, write: bool) -> Response:
        token = request.path_params["token"]
        catalogue = self.centre.catalogue()
        engine = self.centre.write_engine if write else self.centre.engine
        with Session(engine) as session:
            found = self._find_confirmable(session, token, lock=write)
            if found is None:
                return problem(*NOT_FOUND)
            customer, snap = found
            locale, switch = self._locale(request, snap.locale, catalogue)
            if not write:
                return self._render("confirm.html", locale, request, catalogue, switch=switch,
                                    action=request.url.path, done=False)
            store.confirm_subscription(session, customer, Channel.PAGE, _client(request))
            snap = _current(session, customer)
            session.commit()
        return self._render("confirm.html", locale, request, catalogue, done=True,
                            what=self._summary(snap, catalogue, locale),
                            preferences=self.centre.signer.path(snap.public_id, Purpose.PREFERENCES))

    # One-click unsubscribe (RFC 8058) and its page ------------------------------------------

    @_guarded
    async def unsubscribe_page(self, request: Request) -> Response:
        return await run_in_threadpool(self._unsubscribe_page, request)

    def _unsubscribe_page(self, request: Request) -> Response:
        catalogue = self.centre.catalogue()
        with Session(self.centre.engine) as session:
            snap = self._find(session, request.path_params["token"], Purpose.UNSUBSCRIBE)
        if snap is None:
            return problem(*NOT_FOUND)
        locale, switch = self._locale(request, snap.locale, catalogue)
        return self._render("unsubscribe.html", locale, request, catalogue, switch=switch,
                            done=False, already=snap.status is Status.UNSUBSCRIBED,
                            action=request.url.path,
                            preferences=self.centre.signer.path(snap.public_id, Purpose.PREFERENCES))

    @_guarded
    async def unsubscribe(self, request: Request) -> Response:
        form = await _form(request)
        if form is None:
            return problem("unreadable", 400)
        one_click = form.get(ONE_CLICK[0]) == ONE_CLICK[1]
        return await run_in_threadpool(self._unsubscribe, request, one_click)

    def _unsubscribe(self, request: Request, one_click: bool) -> Response:
        catalogue = self.centre.catalogue()
        with Session(self.centre.write_engine) as session:
            found = self._find_for_write(session, request.path_params["token"], Purpose.UNSUBSCRIBE)
            if found is None:
                return problem(*NOT_FOUND)
            customer, snap = found
            store.unsubscribe(session, customer, Channel.ONE_CLICK if one_click else Channel.PAGE,
                              _client(request))
            # Committed before the 200 is sent: a failing write raises and becomes a 503.
            session.commit()
        locale, _ = self._locale(request, snap.locale, catalogue)
        return self._render("unsubscribe.html", locale, request, catalogue, switch=None, done=True,
                            already=False, action=None,
                            preferences=self.centre.signer.path(snap.public_id, Purpose.PREFERENCES))

    # Finding the customer behind a link -----------------------------------------------------

    def _find(self, session: Session, token: str, purpose: Purpose) -> Snapshot | None:
        found = self._find_for_write(session, token, purpose)
        return found[1] if found else None

    def _find_for_write(self, session: Session, token: str,
                        purpose: Purpose) -> tuple[Customer, Snapshot] | None:
        # No lock needed here: the store locks the rows it changes and re-checks the version.
        try:
            public_id = self.centre.signer.verify(token, purpose)
            customer, preference = store.get_customer_with_preference(session, public_id=public_id)
        except (BadLink, UnknownCustomer):
            return None
        return customer, Snapshot.of(customer, preference)

    def _find_confirmable(self, session: Session, token: str, lock: bool) -> tuple[Customer, Snapshot] | None:
        # The confirm link is signed over the preference version: look up, then verify. Before
        # confirming, the preference row is locked, so the version cannot change in between.
        try:
            public_id = unverified_public_id(token)
            customer = store.get_customer_by_public_id(session, public_id)
            preference = session.get(Preference, customer.id, with_for_update=lock, populate_existing=lock)
        except (BadLink, UnknownCustomer):
            return None
        if preference is None:
            return None
        try:
            self.centre.signer.verify(token, Purpose.CONFIRM, store.confirm_link_context(preference))
        except BadLink:
            return None
        if customer.status is not Status.PENDING:
            return None
        return customer, Snapshot.of(customer, preference)

    # Rendering ------------------------------------------------------------------------------

    def _locale(self, request: Request, customer_locale: str, catalogue: Catalogue) -> tuple[str, list]:
        """The page language (asked for with ?lang=, else the customer's) and the links to the others."""
        offered = [locale for locale in catalogue.locales if locale in i18n.page_locales()]
        asked = request.query_params.get("lang")
        locale = asked if asked in offered else i18n.page_locale([customer_locale, *offered])
        path = request.url.path.rsplit("/", 1)[0] if request.url.path.endswith(("/unsubscribe", "/resubscribe")) \
            else request.url.path
        return locale, [(other, i18n.language_name(other), f"{path}?lang={other}")
                        for other in offered if other != locale]

    def _render(self, template: str, locale: str, request: Request, catalogue: Catalogue, *,
                status: int = 200, **context) -> HTMLResponse:
        context.setdefault("switch", None)
        body = i18n.render(template, locale, newsletter=catalogue.newsletter_name,
                           csrftoken=lambda: form_token(request.scope), **context)
        return HTMLResponse(body, status_code=status, headers=i18n.PAGE_HEADERS)

    def _state_page(self, request: Request, snap: Snapshot, catalogue: Catalogue, *,
                    status: int = 200, notice: str | None = None) -> HTMLResponse:
        """The page for the customer's status: the choices, or "unsubscribed", or "pending"."""
        if snap.status is Status.ACTIVE:
            return self._centre(request, snap, catalogue, status=status, notice=notice)
        locale, switch = self._locale(request, snap.locale, catalogue)
        base = self.centre.signer.path(snap.public_id, Purpose.PREFERENCES)
        return self._render("status.html", locale, request, catalogue, status=status, switch=switch,
                            pending=snap.status is Status.PENDING, notice=notice,
                            first_name=snap.first_name, resubscribe=base + "/resubscribe",
                            unsubscribe=base + "/unsubscribe")

    def _centre(self, request: Request, snap: Snapshot, catalogue: Catalogue, *, status: int = 200,
                notice: str | None = None, state: FormState | None = None,
                errors: dict[str, str] | None = None) -> HTMLResponse:
        today = self.centre.today()
        locale, switch = self._locale(request, snap.locale, catalogue)
        state = state or FormState.of(snap, catalogue, today)
        gettext = i18n.translations(locale).gettext
        base = self.centre.signer.path(snap.public_id, Purpose.PREFERENCES)
        return self._render(
            "centre.html", locale, request, catalogue, status=status, switch=switch, notice=notice,
            first_name=snap.first_name, version=snap.version,
            what=self._summary(snap, catalogue, locale),
            messages=explain(errors or {}, gettext, locale, today),
            form=state.view(snap, catalogue, locale, today, gettext),
            action=base + (f"?lang={locale}" if request.query_params.get("lang") == locale else ""),
            unsubscribe=base + "/unsubscribe")

    def _summary(self, snap: Snapshot, catalogue: Catalogue, locale: str) -> str:
        last = self.last_delivery(snap.customer_id) if self.last_delivery else None
        return summary(gettext=i18n.translations(locale).gettext, locale=locale, catalogue=catalogue,
                       today=self.centre.today(), frequency=snap.frequency,
                       paused_until=snap.paused_until, excluded_groups=snap.excluded_groups,
                       last_delivery=last)


def _current(session: Session, customer: Customer) -> Snapshot:
    """The customer's state after a store change (the store refreshed both rows in the session)."""
    return Snapshot.of(customer, session.get(Preference, customer.id))  # type: ignore[arg-type]


async def _form(request: Request) -> FormData | None:
    """The submitted form (urlencoded or multipart, no files), or None if it cannot be read."""
    try:
        return await request.form(max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=16 * 1024)
    except (HTTPException, MultiPartException, ClientDisconnect, UnicodeDecodeError, ValueError):
        return None


def _version(value: object) -> int | None:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None


def _client(request: Request) -> str:
    return client_hash(request.client.host if request.client else None, request.headers.get("user-agent"))
