"""The preference centre's pages: the customer's own choices behind a signed link.

``routes(centre)`` gives the Starlette routes; wrap the app in ``preferences.web.csrf.protect``.

- ``GET|POST /preferences/{token}``: the choices (frequency, pause, product groups, language);
  saving answers in words what the customer will now get. A form built from an older version of
  the choices gets 409 and changes nothing.
- ``POST /preferences/{token}/unsubscribe``: the page's "unsubscribe from everything".
- ``POST /preferences/{token}/resubscribe``: an unsubscribed customer asks for newsletters again;
  they become pending and a confirmation email is queued in the outbox in the same transaction
  (``on_queued`` wakes the service's worker after the commit). A leaked link can narrow consent
  but never widen it back by itself.
- ``GET|POST /confirm/{token}`` and ``GET|POST /unsubscribe/{token}``: see
  ``preferences.web.subscription_pages``; ``GET|POST /signup``: ``preferences.web.signup_pages``.

Every bad link (malformed, tampered, other purpose, unknown customer) gets the same 404 page. A
database that fails a write answers 503, never a false success. No URL carries an email address
or a database id: only the signed token of the customer's random public id.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Callable

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from preferences import store
from preferences.consent import from_edition
from preferences.database import WriterBusy, for_writes
from preferences.errors import InvalidPreference, StaleForm, UnknownCustomer
from preferences.links import EditionRef, Purpose
from preferences.models import Channel, Status
from preferences.optin.requests import Asked, request_confirmation, throttled
from preferences.pending import MailQueued
from preferences.web.centre import Centre
from preferences.web.form import error_codes, read_form
from preferences.web.form_input import client, edition_in, form_version, submitted_form
from preferences.web.snapshot import Snapshot, current, find_for_write, read_snapshot
from preferences.web.csrf import SIGNUP_PATH
from preferences.web.signup_pages import SignupPages
from preferences.web.subscription_pages import SubscriptionPages
from preferences.web.views import NOT_FOUND, PageViews, Reader, problem

log = logging.getLogger(__name__)

def _no_op() -> None:
    return None


def routes(
    centre: Centre,
    *,
    on_queued: MailQueued = _no_op,
    last_delivery: Callable[[int], date | None] | None = None,
) -> list[BaseRoute]:
    """The preference centre's routes.

    ``on_queued``: called after a commit that queued a confirmation mail (a customer asked to
    get newsletters again); it should wake the outbox worker, not block. ``last_delivery``: the date of a
    customer's latest delivery of the main newsletter by customer id, if the caller can tell
    (it makes "starting with the edition of ..." exact for fortnightly readers).
    """
    views = PageViews(centre, last_delivery)
    pages = _PreferencePages(centre, views, on_queued)
    subscription = SubscriptionPages(centre, views)
    signup = SignupPages(centre, views, on_queued)
    # The paths are the links' own (Purpose.path), so a signed link and its route cannot drift;
    # pages build their URLs from these names (PageViews.path_for).
    preferences, confirm, unsubscribe = (p.path + "{token}" for p in
                                         (Purpose.PREFERENCES, Purpose.CONFIRM, Purpose.UNSUBSCRIBE))
    named = [
        Route(preferences, pages.show, methods=["GET"], name="preferences"),
        Route(preferences, pages.save, methods=["POST"], name="preferences_save"),
        Route(preferences + "/unsubscribe", pages.unsubscribe_from_page, methods=["POST"],
              name="preferences_unsubscribe"),
        Route(preferences + "/resubscribe", pages.resubscribe, methods=["POST"], name="preferences_resubscribe"),
        Route(confirm, subscription.confirm_page, methods=["GET"], name="confirm"),
        Route(confirm, subscription.confirm, methods=["POST"], name="confirm_save"),
        Route(unsubscribe, subscription.unsubscribe_page, methods=["GET"], name="unsubscribe"),
        Route(unsubscribe, subscription.unsubscribe, methods=["POST"], name="unsubscribe_save"),
        Route(SIGNUP_PATH, signup.show, methods=["GET"], name="signup"),
        Route(SIGNUP_PATH, signup.save, methods=["POST"], name="signup_save"),
    ]
    views.routes = {route.name: route for route in named}
    return list(named)


class _PreferencePages:
    def __init__(self, centre: Centre, views: PageViews, on_queued: MailQueued) -> None:
        self.centre = centre
        self.views = views
        self.on_queued = on_queued
        self.read = Reader(centre)
        self.write_now = for_writes(centre.engine, wait=False)

    # The preference page ------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        return await self.read(self._show, request)

    def _show(self, request: Request) -> Response:
        snap = read_snapshot(self.centre, request.path_params["token"], Purpose.PREFERENCES)
        if snap is None:
            return problem(*NOT_FOUND)
        return self.views.state_page(request, snap, self.centre.catalogue())

    async def save(self, request: Request) -> Response:
        form = await submitted_form(request)
        if form is None:
            return problem("unreadable", 400)
        catalogue, today = self.centre.catalogue(), self.centre.today()
        snap = await self.read(read_snapshot, self.centre, request.path_params["token"], Purpose.PREFERENCES)
        if snap is None:
            return problem(*NOT_FOUND)
        state, errors, events = None, {}, []
        version = form_version(form.get("version"))
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
                saved = await self._saved(snap.customer_id, changes, version, client(request), today, catalogue,
                                          edition_in(request))
                snap, events = Snapshot.of_row(saved.state), saved.events
            except StaleForm:  # saved by another request since we read it
                snap, outcome, status = await self.read(self._reread, snap), "stale", 409
            except UnknownCustomer:  # deleted since we read it
                return problem(*NOT_FOUND)
            except InvalidPreference as error:
                errors, outcome, status = error_codes(error.errors), None, 422
        if snap.status is not Status.ACTIVE:
            return self.views.state_page(request, snap, catalogue, status=status)
        if outcome == "saved" and not events:
            outcome = "unchanged"
        return self.views.centre_page(request, snap, catalogue, status=status, notice=outcome,
                                      state=state if errors else None, errors=errors)

    async def _saved(self, *args) -> store.SavedChoices:
        """The write of a save. On SQLite it runs right here when nobody else is writing (a
        few hundred microseconds, where the hop to a thread and back cost more than the write);
        when it would have to wait for another writer's lock, and on PostgreSQL, in a thread."""
        if self.read.inline:
            try:
                return self._write(self.write_now, *args)
            except WriterBusy:
                pass
        return await run_in_threadpool(self._write, self.centre.write_engine, *args)

    def _write(self, engine, customer_id: int, changes, version: int, client_hash: str, today,
               catalogue, edition: EditionRef | None) -> store.SavedChoices:
        with engine.begin() as conn, from_edition(edition):
            return store.save_choices(conn, customer_id, changes, Channel.PAGE, version, client_hash, today=today,
                                      known_groups=catalogue.product_groups, locales=catalogue.locales)

    def _reread(self, snap: Snapshot) -> Snapshot:
        row = store.page_state(self.centre.engine, snap.public_id)
        return Snapshot.of_row(row) if row is not None else snap

    # Unsubscribe and subscribe again from the page --------------------------------------------

    async def unsubscribe_from_page(self, request: Request) -> Response:
        return await run_in_threadpool(self._set_status, request, False)

    async def resubscribe(self, request: Request) -> Response:
        return await run_in_threadpool(self._set_status, request, True)

    def _set_status(self, request: Request, resubscribe: bool) -> Response:
        catalogue = self.centre.catalogue()
        with Session(self.centre.write_engine) as session:
            found = find_for_write(self.centre, session, request.path_params["token"], Purpose.PREFERENCES)
            if found is None:
                return problem(*NOT_FOUND)
            customer, snap = found
            if resubscribe and snap.status is Status.ACTIVE:
                return self.views.state_page(request, snap, catalogue)
            was_pending = snap.status is Status.PENDING
            change = store.resubscribe_pending if resubscribe else store.unsubscribe
            with from_edition(edition_in(request)):
                change(session, customer, Channel.PAGE, client(request))
            snap = current(session, customer)
            # Resubscribing, or asking again for a lost email: either way, queue the link (asked
            # again, at most one every few minutes; a few a day: the page says "sent" all the same).
            queued = snap.status is Status.PENDING and not throttled(
                session.connection(), customer.id, repeat=was_pending)  # type: ignore[arg-type]
            if queued:
                request_confirmation(session.connection(), customer.id, Asked(  # type: ignore[arg-type]
                    Channel.PAGE, source="preferences", client_hash=client(request),
                    user_agent=request.headers.get("user-agent")))
            session.commit()
        if queued:
            self.on_queued()
        return self.views.state_page(request, snap, catalogue, notice="sent" if resubscribe else "unsubscribed")
