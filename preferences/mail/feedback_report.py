"""Feedback-loop complaints in the Abuse Reporting Format (RFC 5965): a mailbox provider
telling the sender that a recipient marked a message as spam.

The machine-readable part (``message/feedback-report``) has the required ``Feedback-Type``
(``abuse``, ``fraud``, ``virus``, ``other``; ``not-spam`` and ``auth-failure`` are no
complaint), ``User-Agent`` and ``Version``, and optionally ``Original-Mail-From`` (the envelope
sender: our VERP return path), ``Original-Rcpt-To`` (often left out or redacted by the provider)
and ``Arrival-Date``. The original message, whole or its headers, usually follows; it gives the
Message-ID.
"""

from __future__ import annotations

from email.message import Message

from preferences.mail import report_mime
from preferences.mail.report_mime import Envelope, text
from preferences.suppression.reports import Report, is_complaint, report_key
from preferences.suppression.tables import COMPLAINT, MAILBOX

FEEDBACK_TYPE = "message/feedback-report"


class NotAFeedbackReport(ValueError):
    """A feedback-report without its required fields (a malformed ARF)."""


def feedback_part(message: Message) -> Message | None:
    for part in report_mime.parts(message):
        if part.get_content_type() == FEEDBACK_TYPE:
            return part
    return None


def original_mail_from(message: Message) -> str | None:
    """The report's Original-Mail-From (the envelope sender of the message complained about)."""
    part = feedback_part(message)
    blocks = report_mime.field_blocks(part) if part is not None else []
    found = report_mime.addresses(block.get("Original-Mail-From") for block in blocks)
    return found[0] if found else None


def read_feedback_report(message: Message, envelope: Envelope) -> list[Report]:
    """The complaint of an ARF report as one Report per recipient it names (one without a
    recipient when the provider redacted it); [] for a report that is no complaint."""
    part = feedback_part(message)
    if part is None:
        raise NotAFeedbackReport("no message/feedback-report part")
    fields: dict[str, list[str]] = {}
    for block in report_mime.field_blocks(part):
        for name, value in block.items():
            fields.setdefault(name.lower(), []).append(text(value, 400))
    feedback_type = (fields.get("feedback-type") or [""])[0].lower()
    if not feedback_type:
        raise NotAFeedbackReport("the feedback-report has no Feedback-Type")
    if not is_complaint(feedback_type):
        return []
    reported_at = report_mime.date((fields.get("arrival-date") or fields.get("received-date") or [None])[0])
    reported_at = reported_at or report_mime.date(message.get("Date"))
    recipients = [typed for value in fields.get("original-rcpt-to", [])
                  if (typed := report_mime.typed_address(value)) is not None]
    if not recipients:
        returned = report_mime.returned_headers(message)
        recipients = report_mime.addresses([returned.get("To")])[:1] if returned is not None else []
    agent = (fields.get("user-agent") or [""])[0]
    detail = "; ".join(filter(None, [f"feedback type {feedback_type}", f"from {agent}" if agent else None]))
    return [Report(key=report_key(MAILBOX, envelope.report_id, address or "-"), kind=COMPLAINT, address=address,
                   message_id=envelope.message_id, return_paths=envelope.return_paths, detail=detail,
                   reported_at=reported_at)
            for address in (recipients[:20] or [None])]
