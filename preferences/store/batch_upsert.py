"""The batch upsert by external id shared by the CSV import and the operator API's batch
endpoint: plainly new customers in three bulk statements, the others one by one, and nothing
written for a customer whose data is unchanged."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from preferences.customers import CustomerData
from preferences.errors import Conflicts, DuplicateCustomer
from preferences.models import Channel, ConsentEvent, Customer, Status
from preferences.store.customers import create_customers, emails_taken, upsert_customer_by_external_id

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
_LOOKUP_CHUNK = 500
# The customer's own choices that a CRM record also carries: once the customer made one on the
# preference page, an import or API upsert keeps it unless the operator asks to overwrite it.
CUSTOMER_CHOICES = ("locale",)
KEPT_CHOICE = "kept: the customer chose it on the preference page (overwrite_preferences replaces it)"
KEPT_UNSUBSCRIBED = ("kept unsubscribed: only the customer can subscribe again, through the "
                     "confirmation mail")


@dataclass
class Upserted:
    """What ``upsert_many`` did: per item "created", "updated" or "unchanged", and per item index
    the fields it kept although the item gave another value, with why."""

    outcomes: list[str]
    kept: dict[int, dict[str, str]] = field(default_factory=dict)


def upsert_many(
    session: Session, items: Sequence[CustomerData], channel: Channel | str, *, default_locale: str,
    attribute_names: Collection[str] | None = None, overwrite_preferences: bool = False,
) -> Upserted:
    """Upsert every item by external id in the session's transaction. Does not commit.

    ``attribute_names``: replace only these attributes of an existing customer and keep its
    others (a CSV with some attribute columns); None replaces the whole set (the API's PUT).
    A choice the customer made on the preference page (``CUSTOMER_CHOICES``) is kept unless
    ``overwrite_preferences``; an unsubscribed customer stays unsubscribed. Both are listed in
    ``Upserted.kept``. Raises Conflicts naming every item whose email belongs to another
    customer; the session then holds the other items' writes and must be rolled back.
    """
    before = _snapshots(session, [item.external_id for item in items])
    chosen = {} if overwrite_preferences else _chosen_on_the_page(session, list(before))
    bulk = _bulk_creatable(session, items, before)
    create_customers(session, [items[i] for i in sorted(bulk)], channel, default_locale=default_locale)
    outcomes: list[str] = []
    kept_fields: dict[int, dict[str, str]] = {}
    conflicts: dict[int, dict[str, str]] = {}
    for index, item in enumerate(items):
        if index in bulk:
            outcomes.append(CREATED)
            continue
        old = before.get(item.external_id)
        if old is not None:
            item, kept_fields[index] = _keep_the_customers_own(item, old, chosen.get(item.external_id, set()))
            if not kept_fields[index]:
                del kept_fields[index]
        if old is not None and attribute_names is not None and item.attributes is not None:
            kept = {name: value for name, value in old[-1].items() if name not in attribute_names}
            item = replace(item, attributes={**kept, **item.attributes})
        if old is not None and _unchanged(old, item):
            # Nothing to write: skips two queries per row on the nightly re-import of a whole CRM.
            outcomes.append(UNCHANGED)
            continue
        try:
            customer, created = upsert_customer_by_external_id(
                session, item, channel, default_locale=default_locale)
        except DuplicateCustomer as error:
            conflicts[index] = {error.field: str(error)}
            continue
        outcomes.append(CREATED if created else UNCHANGED if _snapshot(customer) == old else UPDATED)
    if conflicts:
        raise Conflicts(conflicts)
    return Upserted(outcomes, kept_fields)


def _keep_the_customers_own(item: CustomerData, old: tuple, chosen: set[str]) -> tuple[CustomerData, dict[str, str]]:
    """``item`` without the values it may not change, and those fields with why."""
    _, _, locale, status, _ = old
    kept: dict[str, str] = {}
    if "locale" in chosen and item.locale is not None and item.locale != locale:
        item, kept["locale"] = replace(item, locale=None), KEPT_CHOICE
    if status is Status.UNSUBSCRIBED and item.status not in (None, Status.UNSUBSCRIBED):
        kept["status"] = KEPT_UNSUBSCRIBED
    return item, kept


def _chosen_on_the_page(session: Session, external_ids: Sequence[str]) -> dict[str, set[str]]:
    """Per external id, which of CUSTOMER_CHOICES the customer ever set on the preference page."""
    found: dict[str, set[str]] = {}
    for start in range(0, len(external_ids), _LOOKUP_CHUNK):
        chunk = external_ids[start:start + _LOOKUP_CHUNK]
        rows = session.execute(
            select(Customer.external_id, ConsentEvent.field).distinct()
            .join(ConsentEvent, ConsentEvent.customer_id == Customer.id)
            .where(Customer.external_id.in_(chunk), ConsentEvent.channel == Channel.PAGE,
                   ConsentEvent.field.in_(CUSTOMER_CHOICES)))
        for external_id, name in rows:
            found.setdefault(external_id, set()).add(name)
    return found


def _bulk_creatable(session: Session, items: Sequence[CustomerData], before: dict[str, tuple]) -> set[int]:
    """Indexes of items that are plainly new (external id and email unused, in the database and
    in this batch): created with three bulk statements instead of several queries each. Anything
    else goes through the store one by one, which reports conflicts item by item."""
    new = [i for i, item in enumerate(items) if item.external_id not in before]
    taken = emails_taken(session, [items[i].email for i in new])
    ids, emails = Counter(items[i].external_id for i in new), Counter(items[i].email.lower() for i in new)
    return {i for i in new if items[i].email.lower() not in taken
            and ids[items[i].external_id] == 1 and emails[items[i].email.lower()] == 1}


def _snapshots(session: Session, external_ids: Sequence[str]) -> dict[str, tuple]:
    found: dict[str, tuple] = {}
    for start in range(0, len(external_ids), _LOOKUP_CHUNK):
        chunk = external_ids[start:start + _LOOKUP_CHUNK]
        for customer in session.scalars(select(Customer).where(Customer.external_id.in_(chunk))):
            found[customer.external_id] = _snapshot(customer)
    return found


def _unchanged(old: tuple, item: CustomerData) -> bool:
    """Whether store.upsert_customer_by_external_id would change nothing (the same rule: fields
    given as None are kept, and status is only ever withdrawn). The email is the customer's own,
    so it cannot conflict with another customer either."""
    email, first_name, locale, status, attributes = old
    return (item.email == email
            and (item.first_name is None or item.first_name == first_name)
            and (item.locale is None or item.locale == locale)
            and (item.attributes is None or item.attributes == attributes)
            and not (item.status is Status.UNSUBSCRIBED and status is not Status.UNSUBSCRIBED))


def _snapshot(customer: Customer) -> tuple:
    # Attributes last: upsert_many reads them from there.
    return (customer.email, customer.first_name, customer.locale, customer.status, dict(customer.attributes))
