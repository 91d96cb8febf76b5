"""The proof of a customer's consent, as an operator (or an authority) asks for it: every
request to subscribe, newest first, with the words shown at the request and at the confirmation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import aliased

from preferences.optin.tables import consent_text, opt_in


def requests_of(conn: Connection, customer_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """The customer's requests (at most ``limit``), newest first, each with its wording texts."""
    asked, confirmed = aliased(consent_text), aliased(consent_text)
    rows = conn.execute(
        select(opt_in, asked.c.locale.label("asked_locale"), asked.c.text.label("asked_text"),
               confirmed.c.locale.label("confirmed_locale"), confirmed.c.text.label("confirmed_text"))
        .outerjoin(asked, asked.c.version == opt_in.c.request_wording)
        .outerjoin(confirmed, confirmed.c.version == opt_in.c.confirm_wording)
        .where(opt_in.c.customer_id == customer_id).order_by(opt_in.c.id.desc()).limit(limit)).all()
    return [{
        "requested_at": row.requested_at, "channel": row.channel, "source": row.source,
        "client_hash": row.request_client, "user_agent": row.request_user_agent,
        "wording": _wording(row.request_wording, row.asked_locale, row.asked_text),
        "asked_for": {k: v for k, v in (row.requested or {}).items() if k != "created"},
        "expires_at": row.expires_at,
        "confirmation": None if row.confirmed_at is None else {
            "at": row.confirmed_at, "channel": row.confirm_channel, "client_hash": row.confirm_client,
            "user_agent": row.confirm_user_agent,
            "wording": _wording(row.confirm_wording, row.confirmed_locale, row.confirmed_text)},
    } for row in rows]


def _wording(version: str | None, locale: str | None, text: str | None) -> dict[str, str] | None:
    return None if version is None else {"version": version, "locale": locale or "", "text": text or ""}
