"""What the operator API answers with: customers, preferences and consent events as JSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from preferences.models import ConsentEvent, Customer, Preference


def etag(version: int) -> str:
    return f'"{version}"'


def iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def customer_json(customer: Customer, preference: Preference) -> dict[str, Any]:
    return {
        "external_id": customer.external_id,
        "email": customer.email,
        "first_name": customer.first_name,
        "locale": customer.locale,
        "status": customer.status.value,
        "attributes": dict(customer.attributes),
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "preferences": preferences_json(customer, preference),
    }


def preferences_json(customer: Customer, preference: Preference) -> dict[str, Any]:
    return {
        "frequency": preference.frequency.value,
        "paused_until": iso(preference.paused_until),
        "excluded_groups": list(preference.excluded_groups),
        "locale": customer.locale,
        "status": customer.status.value,
        "click_tracking": bool(preference.click_tracking),
        "version": preference.version,
        "updated_at": iso(preference.updated_at),
    }


def event_json(event: ConsentEvent) -> dict[str, Any]:
    return {"id": event.id, "field": event.field, "old": event.old, "new": event.new,
            "channel": event.channel.value, "at": iso(event.at), "client_hash": event.client_hash,
            "actor": event.actor}


def confirmation_json(queued: set[str], external_id: str) -> dict[str, str]:
    """An upsert answer's ``confirmation`` field, for a customer the request created pending:
    the double opt-in mail is queued in the outbox."""
    return {"confirmation": "queued"} if external_id in queued else {}
