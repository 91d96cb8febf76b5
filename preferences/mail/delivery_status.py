"""Delivery status notifications (RFC 3464, and RFC 6533's internationalized form): what
happened to a message, per recipient.

The machine-readable part (``message/delivery-status``) has one block of per-message fields
(``Reporting-MTA``, ``Arrival-Date``, ...) and one block per recipient (``Final-Recipient`` and
``Action`` required, ``Status``, ``Original-Recipient``, ``Diagnostic-Code``,
``Last-Attempt-Date``). ``read_delivery_status`` turns every recipient that failed or is delayed
into a ``Report`` (a recipient that was delivered, relayed or expanded needs nothing); the
returned message, whole or as headers, gives the original Message-ID and envelope sender.
"""

from __future__ import annotations

import re
from email.message import Message

from preferences.mail import report_mime
from preferences.mail.report_mime import Envelope, text
from preferences.suppression.reports import Report, kind_of, report_key, status_code
from preferences.suppression.tables import MAILBOX

STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_SMTP_REPLY = re.compile(r"\b([245])\d\d\b")
_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
MAX_RECIPIENTS = 100


class NotADeliveryStatus(ValueError):
    """A delivery-status report without a readable recipient (a malformed DSN)."""


def status_part(message: Message) -> Message | None:
    for part in report_mime.parts(message):
        if part.get_content_type() in STATUS_TYPES:
            return part
    return None


def read_delivery_status(message: Message, envelope: Envelope) -> list[Report]:
    """The failed and delayed recipients of a DSN as Reports; [] when every recipient was
    delivered. Raises NotADeliveryStatus when there is no recipient block to read."""
    part = status_part(message)
    if part is None:
        raise NotADeliveryStatus("no message/delivery-status part")
    blocks = report_mime.field_blocks(part)
    recipients = [block for block in blocks if block.get("Final-Recipient") or block.get("Original-Recipient")]
    if not recipients:
        raise NotADeliveryStatus("no recipient in the delivery-status part")
    per_message = blocks[0] if blocks and blocks[0] not in recipients else None
    arrival = report_mime.date(per_message.get("Arrival-Date")) if per_message is not None else None
    reporter = text(per_message.get("Reporting-MTA"), 200) if per_message is not None else ""
    arrival = arrival or report_mime.date(message.get("Date"))
    reports = []
    for block in recipients[:MAX_RECIPIENTS]:
        final = report_mime.typed_address(block.get("Final-Recipient"))
        original = report_mime.typed_address(block.get("Original-Recipient"))
        address = original or final
        action = text(block.get("Action"), 40).lower()
        diagnostic = text(block.get("Diagnostic-Code"), 900)
        status = status_code(text(block.get("Status"), 40)) or _code_in(diagnostic)
        if address is None or not action:
            continue  # a recipient block without its required fields: the others still count
        kind = kind_of(action, status)
        if kind is None:
            continue
        detail = "; ".join(filter(None, [action, diagnostic or None,
                                         f"final recipient {final}" if final and final != address else None,
                                         f"reported by {reporter}" if reporter else None]))
        reports.append(Report(
            key=report_key(MAILBOX, envelope.report_id, address), kind=kind, address=address,
            message_id=envelope.message_id, return_paths=envelope.return_paths, status=status,
            detail=detail[:1000], reported_at=report_mime.date(block.get("Last-Attempt-Date")) or arrival))
    if not reports and not any(text(block.get("Action")) for block in recipients):
        raise NotADeliveryStatus("no recipient block has an Action")
    return reports


def _code_in(diagnostic: str) -> str | None:
    """The status a Diagnostic-Code gives when the Status field is missing or unreadable: its
    enhanced code, or the class of its SMTP reply (550 -> 5.0.0)."""
    enhanced = _ENHANCED.search(diagnostic)
    if enhanced:
        return status_code(enhanced.group(1))
    reply = _SMTP_REPLY.search(diagnostic)
    return f"{reply.group(1)}.0.0" if reply else None
