"""Queries and changes of customers and their preferences, named by intent.

Every function takes a Session (request paths) or a Connection (the send's bulk read, the page's
save), adds and flushes but never commits: the caller owns the transaction, and after any error
it rolls back. ``page_state``, the read of every page view, takes the engine and runs on a
connection of its own. The page's read and save run prepared statements
(``preferences.prepared``).

Every change of a customer's choices takes the preference row's lock first (SELECT ... FOR
UPDATE on PostgreSQL), then changes the customer row: one order everywhere, so two requests for
the same customer queue up instead of deadlocking or losing an update. On SQLite, writers are
serialised by the database; run these in a session on ``database.for_writes(engine)`` (BEGIN
IMMEDIATE), so that a concurrent writer waits for the busy timeout instead of failing with
"database is locked" (a deferred transaction whose snapshot is older than another writer's
commit cannot be upgraded to a writer).

Consent events are append-only: they are inserted here and never updated or deleted.

Callers import the package (``from preferences import store``) and call ``store.<name>``; the
modules behind it: ``reads`` (the page state, lookups, the send's rows), ``customers`` (creating
and upserting customers), ``batch_upsert`` (the import's and the API's batch upsert), ``choices``
(changing preferences), ``status`` (unsubscribing, one or a batch, and confirming), ``row_locks`` (the lock and the
version bump every ORM change takes).
"""

from __future__ import annotations

from preferences.store.batch_upsert import CREATED, UNCHANGED, UPDATED, Upserted, upsert_many
from preferences.store.choices import SavedChoices, change_preferences, check_choices, save_choices
from preferences.store.customers import (
    create_customer,
    create_customers,
    emails_taken,
    upsert_customer_by_external_id,
)
from preferences.store.reads import (
    PageState,
    confirm_link_context,
    customer_send_row,
    get_customer_by_external_id,
    get_customer_by_public_id,
    get_customer_with_preference,
    get_preference,
    iter_send_candidates,
    send_candidate_ids,
    list_consent_events,
    page_state,
)
from preferences.store.status import confirm_subscription, resubscribe_pending, unsubscribe, unsubscribe_many

__all__ = [
    "CREATED",
    "UNCHANGED",
    "UPDATED",
    "PageState",
    "SavedChoices",
    "change_preferences",
    "check_choices",
    "confirm_link_context",
    "confirm_subscription",
    "create_customer",
    "create_customers",
    "customer_send_row",
    "emails_taken",
    "get_customer_by_external_id",
    "get_customer_by_public_id",
    "get_customer_with_preference",
    "get_preference",
    "iter_send_candidates",
    "list_consent_events",
    "page_state",
    "resubscribe_pending",
    "save_choices",
    "send_candidate_ids",
    "unsubscribe",
    "unsubscribe_many",
    "upsert_customer_by_external_id",
    "upsert_many",
    "Upserted",
]
