"""Changing a customer's choices (frequency, pause, excluded groups, locale, click measuring): Core statements
prepared once per database, run under the lock every change takes first."""

from __future__ import annotations

from datetime import date
from typing import Any, Collection, Mapping, NamedTuple

from sqlalchemy import Connection, bindparam, update
from sqlalchemy.orm import Session

from preferences import consent
from preferences.changes import validate_changes
from preferences.errors import StaleForm, UnknownCustomer
from preferences.models import Channel, Customer, Preference, customer_table, preference_table
from preferences.prepared import Prepared
from preferences.store.reads import STATE, PageState
from preferences.utc import utcnow


class SavedChoices(NamedTuple):
    """What ``save_choices`` wrote: one consent event per changed field (none: nothing changed),
    and the customer's state afterwards."""

    events: list[consent.Recorded]
    state: PageState


def save_choices(
    conn: Connection,
    customer_id: int,
    changes: Mapping[str, Any],
    channel: Channel | str,
    expected_version: int | None,
    client_hash: str | None = None,
    *,
    today: date,
    known_groups: Collection[str],
    locales: Collection[str],
) -> SavedChoices:
    """Apply ``changes`` (any of frequency, paused_until, excluded_groups, locale, click_tracking) with Core
    statements: lock the rows, check the version, validate, write the consent events and the
    new values, bump the version.

    ``expected_version``: the preference version the form was built from; if it is no longer
    current, StaleForm is raised and nothing changes (None: no check, e.g. the API).
    Raises InvalidPreference naming every bad field, UnknownCustomer for an unknown id.
    """
    channel = Channel(channel)
    row = _LOCK_STATE.first_in(conn, {"customer_id": customer_id})
    if row is None:
        raise UnknownCustomer(f"no customer {customer_id}")
    state = PageState.of_row(row)
    if expected_version is not None and expected_version != state.version:
        raise StaleForm(expected_version, state.version)
    current = _current(state)
    new = validate_changes(changes, current=current, today=today, known_groups=known_groups, locales=locales)
    if not new:
        return SavedChoices([], state)
    now = utcnow()
    events = consent.record_many(conn, customer_id, [(name, current[name], value) for name, value in new.items()],
                                 channel, client_hash, at=now)
    after = state._replace(**new, version=state.version + 1)
    # One prepared statement whatever changed (the unchanged fields are written as they were).
    _SAVE_PREFERENCE.run_in(conn, {"who": customer_id, "frequency": after.frequency, "now": now,
                                    "paused_until": after.paused_until, "excluded_groups": after.excluded_groups,
                                    "click_tracking": after.click_tracking})
    if consent.LOCALE in new:
        _SAVE_LOCALE.run_in(conn, {"who": customer_id, "locale": after.locale, "now": now})
    return SavedChoices(events, after)


def check_choices(conn: Connection, customer_id: int, changes: Mapping[str, Any], *, today: date,
                  known_groups: Collection[str], locales: Collection[str]) -> None:
    """Raise InvalidPreference naming every bad field of ``changes``, as ``save_choices`` would,
    writing nothing and taking no lock (for a request that is refused anyway)."""
    row = _READ_STATE.first_in(conn, {"customer_id": customer_id})
    if row is None:
        raise UnknownCustomer(f"no customer {customer_id}")
    validate_changes(changes, current=_current(PageState.of_row(row)), today=today, known_groups=known_groups,
                     locales=locales)


def _current(state: PageState) -> dict[str, Any]:
    return {
        consent.FREQUENCY: state.frequency,
        consent.PAUSED_UNTIL: state.paused_until,
        consent.EXCLUDED_GROUPS: state.excluded_groups,
        consent.LOCALE: state.locale,
        consent.CLICK_TRACKING: state.click_tracking,
    }


# The row under the lock every change takes first (FOR UPDATE on PostgreSQL; on SQLite the
# writer's BEGIN IMMEDIATE already holds the database's lock).
_LOCK_STATE = Prepared(STATE.where(customer_table.c.id == bindparam("customer_id")).with_for_update())
_READ_STATE = Prepared(STATE.where(customer_table.c.id == bindparam("customer_id")))
_SAVE_PREFERENCE = Prepared(
    update(preference_table).where(preference_table.c.customer_id == bindparam("who"))
    .values(frequency=bindparam("frequency"), paused_until=bindparam("paused_until"),
            excluded_groups=bindparam("excluded_groups"), click_tracking=bindparam("click_tracking"),
            version=preference_table.c.version + 1,
            updated_at=bindparam("now"))
)
_SAVE_LOCALE = Prepared(update(customer_table).where(customer_table.c.id == bindparam("who"))
                .values(locale=bindparam("locale"), updated_at=bindparam("now")))


def change_preferences(
    session: Session,
    customer: Customer,
    changes: Mapping[str, Any],
    channel: Channel | str,
    expected_version: int | None,
    client_hash: str | None = None,
    *,
    today: date,
    known_groups: Collection[str],
    locales: Collection[str],
) -> list[consent.Recorded]:
    """``save_choices`` in ``session``'s transaction, for callers that hold ORM objects: the
    customer and its preference are expired, so they show the new values when next read."""
    session.flush()
    saved = save_choices(session.connection(), customer.id, changes, channel, expected_version,  # type: ignore[arg-type]
                         client_hash, today=today, known_groups=known_groups, locales=locales)
    if saved.events:
        session.expire(customer)
        preference = session.identity_map.get(session.identity_key(Preference, customer.id))  # type: ignore[arg-type]
        if preference is not None:
            session.expire(preference)
    return saved.events
