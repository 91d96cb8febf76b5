"""A mail in the bounce mailbox, read: a delivery status notification (RFC 3464), a
feedback-loop complaint (RFC 5965), or neither.

``read_bounce_mail`` gives the Reports (one per recipient) of a DSN or ARF report, [] for a
report that needs nothing (every recipient delivered; a "not-spam" feedback), or None for a
mail it cannot read as either: an old-style bounce in prose, an auto-reply, a malformed report.
The command keeps those aside for a person and counts them; nothing is guessed from prose.

Besides the recipients, a report carries what names the message it is about: the Message-ID
of the returned original, and the return paths: the addresses the report was delivered to
(``To``, ``Delivered-To``, ``X-Original-To``, ``Envelope-To``: a DSN goes to the envelope
sender, our VERP return path), the original's ``Return-Path`` and an ARF report's
``Original-Mail-From``.
"""

from __future__ import annotations

import hashlib
from email import message_from_bytes
from email.message import Message

from preferences.mail import report_mime
from preferences.mail.delivery_status import NotADeliveryStatus, read_delivery_status
from preferences.mail.feedback_report import NotAFeedbackReport, original_mail_from, read_feedback_report
from preferences.mail.report_mime import Envelope
from preferences.suppression.reports import Report

DELIVERY_STATUS, FEEDBACK_REPORT = "delivery-status", "feedback-report"
_DELIVERED_TO = frozenset({"to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "x-rcpt-to"})
MAX_RETURN_PATHS = 20


def read_bounce_mail(raw: bytes) -> list[Report] | None:
    """The reports of one mail (its bytes as stored), or None if it is not a report it can read."""
    try:
        message = message_from_bytes(raw)
        kind = report_mime.report_type(message)
        if kind not in (DELIVERY_STATUS, FEEDBACK_REPORT):
            return None
        envelope = _envelope(message, raw, kind)
        if kind == DELIVERY_STATUS:
            return read_delivery_status(message, envelope)
        return read_feedback_report(message, envelope)
    except (NotADeliveryStatus, NotAFeedbackReport):
        return None
    except Exception:  # noqa: BLE001 (mail from anyone: whatever breaks the parse, it is not read)
        return None


def _envelope(message: Message, raw: bytes, kind: str) -> Envelope:
    own_id = report_mime.message_id(message)
    report_id = own_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    returned = report_mime.returned_headers(message)
    values = [value for name, value in message.items() if name.lower() in _DELIVERED_TO]
    values += returned.get_all("Return-Path", []) if returned is not None else []
    candidates = report_mime.tagged_addresses(values)
    if kind == FEEDBACK_REPORT:
        sender = original_mail_from(message)
        candidates += [sender] if sender else []
    return Envelope(report_id, report_mime.message_id(returned), tuple(dict.fromkeys(candidates))[:MAX_RETURN_PATHS])
