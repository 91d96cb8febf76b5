"""Shared fixtures of the preference page tests (no tests here): a small Starlette app built from
``preferences.web.pages.routes`` wrapped in ``preferences.web.csrf.protect``, over the ``engine`` fixture
(SQLite and PostgreSQL); the form reader that submits what a browser would is tests/html_forms.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.testclient import TestClient

from preferences import store
from preferences.consent import client_hash
from preferences.customers import CustomerData
from preferences.database import for_writes
from preferences.links import LinkSigner, Purpose
from preferences.models import ConsentEvent
from preferences.optin.tables import CONFIRMATION, outbox
from preferences.pending import PendingCustomer, pending_customer
from preferences.web import errors
from preferences.web.centre import Catalogue, Centre
from preferences.web.csrf import protect
from preferences.web.pages import routes
from html_forms import as_form, edit, form_fields, parse  # noqa: F401  (the page tests import them from here)

BASE_URL = "https://news.example"
TODAY = date(2026, 11, 23)  # a Monday: the weekly newsletter's edition day
KEY = b"page-test-link-key-0123456789"
SECRET = b"page-test-csrf-secret-0123456789"
TESTCLIENT_HASH = client_hash("testclient", "testclient")  # Starlette TestClient's address and agent
GROUPS = {
    "outdoor": {"de": "Outdoor", "en": "Outdoor"},
    "kids": {"de": "Kinder", "en": "Kids"},
    "garden": {"de": "Garten", "en": "Garden"},
    "kitchen": {"de": "Küche", "en": "Kitchen"},
}


def mondays(day: date) -> list[date]:
    """Weekly editions every Monday, a year ahead from ``day``."""
    first = day + timedelta(days=(0 - day.weekday()) % 7)
    return [first + timedelta(weeks=n) for n in range(60)]


def catalogue(groups: dict | None = None) -> Catalogue:
    return Catalogue(locales=("de", "en"), product_groups=dict(GROUPS if groups is None else groups),
                     attributes={}, newsletter_names={"de": "Nordhaus Newsletter"}, upcoming_editions=mondays)


@dataclass
class Site:
    engine: Engine
    signer: LinkSigner
    client: TestClient
    catalogue: Catalogue
    centre: Centre
    today: date = TODAY
    wakes: int = 0  # how often the pages woke the outbox worker
    # The confirmation mails, as the service's outbox worker makes them when woken (the customer
    # with their confirm link as of then), oldest first.
    confirmations: list[PendingCustomer] = field(default_factory=list)
    _seen: int = 0
    signups_allowed: bool = True  # the per-client rate limit's answer

    def woken(self) -> None:
        self.wakes += 1
        with self.engine.connect() as conn:
            queued = conn.execute(select(outbox.c.id, outbox.c.customer_id).where(
                outbox.c.kind == CONFIRMATION, outbox.c.id > self._seen).order_by(outbox.c.id)).all()
            for row_id, customer_id in queued:
                self._seen = row_id
                pending = pending_customer(conn, self.signer, BASE_URL, customer_id)
                if pending is not None:
                    self.confirmations.append(pending)

    def customer(self, first_name: str | None = "Anna", locale: str = "de", n: int = 1) -> str:
        """A new active customer; returns the public id."""
        with Session(self.engine) as session:
            customer = store.create_customer(session, CustomerData(
                external_id=f"C{n}", email=f"anna{n}@example.com", first_name=first_name, locale=locale),
                "import", default_locale="de")
            session.commit()
            return customer.public_id

    def path(self, public_id: str, purpose: Purpose = Purpose.PREFERENCES, context: str = "") -> str:
        return self.signer.path(public_id, purpose, context)

    def state(self, public_id: str) -> dict[str, Any]:
        with Session(self.engine) as session:
            customer = store.get_customer_by_public_id(session, public_id)
            preference = store.get_preference(session, customer.id)
            return {"status": str(customer.status), "locale": customer.locale,
                    "frequency": str(preference.frequency), "paused_until": preference.paused_until,
                    "excluded_groups": list(preference.excluded_groups), "version": preference.version,
                    "click_tracking": preference.click_tracking}

    def events(self, public_id: str) -> list[ConsentEvent]:
        with Session(self.engine) as session:
            customer = store.get_customer_by_public_id(session, public_id)
            return [event for event in store.list_consent_events(session, customer.id) if event.field != "created"]

    def set_catalogue(self, new: Catalogue) -> None:
        self.catalogue = new


@pytest.fixture
def site(engine) -> Site:
    signer = LinkSigner([KEY])
    holder: dict[str, Site] = {}
    centre = Centre(engine=engine, write_engine=for_writes(engine), signer=signer,
                    base_url=BASE_URL, catalogue=lambda: holder["site"].catalogue,
                    csrf_secret=SECRET, today=lambda: holder["site"].today,
                    signup_allowed=lambda client: holder["site"].signups_allowed)
    app = protect(Starlette(routes=routes(centre, on_queued=lambda: holder["site"].woken()),
                            exception_handlers=errors.handlers()),
                  SECRET)
    site = Site(engine, signer, TestClient(app), catalogue(), centre)
    holder["site"] = site
    with site.client:
        yield site
