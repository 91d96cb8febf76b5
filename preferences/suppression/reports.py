"""A bounce or complaint report as the suppression rules read it, whatever it came from.

A delivery status notification (RFC 3464) names, per recipient, an ``Action`` and a ``Status``
(RFC 3463: class.subject.detail); a feedback-loop report (RFC 5965) a ``Feedback-Type``; a relay's
webhook event says the same in JSON. Each becomes one ``Report`` per recipient, with what it
says happened (``kind``: hard, soft, complaint) and what identifies the message it is about (the
original Message-ID, the return paths it was sent to or names, the recipient's address).

``kind_of`` is the one classification: a permanent failure (5.x.x) is hard, a transient one
(4.x.x, or a delay) soft; except the permanent codes that say something about the message or the
sender rather than the address (mailbox full, message too large, content, security and policy:
X.2.2, X.3.4, X.6.x, X.7.x), which count as soft. A block list entry of the sender's own is
answered with 5.7.1 by every mailbox of that provider: taken as hard, one run would suppress a
whole provider's customers; counted as soft, it takes repeats over days, and a person notices.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from preferences.suppression.tables import COMPLAINT, HARD, MAILBOX, SOFT, SOURCES
from preferences.utc import utcnow

KEY_LIMIT = 400  # bounce_report.report_key
_STATUS = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
# Permanent codes about the message or the sender, not the address (RFC 3463 subjects and details).
_NOT_THE_ADDRESS = (re.compile(r"5\.2\.2"), re.compile(r"5\.3\.4"), re.compile(r"5\.6\.\d+"), re.compile(r"5\.7\.\d+"))
FAILED, DELAYED = "failed", "delayed"
# Feedback types (RFC 5965, 6650) that are a complaint about the mail; "not-spam" and
# "auth-failure" (RFC 6591) reports are read and need nothing.
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})


def status_code(text: str | None) -> str | None:
    """The RFC 3463 code at the start of ``text`` ("5.1.1 (user unknown)" -> "5.1.1"), or None."""
    found = _STATUS.match(text or "")
    if found is None:
        return None
    return ".".join(str(int(part)) for part in found.groups())


def kind_of(action: str, status: str | None) -> str | None:
    """What a DSN recipient's ``Action`` and ``Status`` mean: HARD, SOFT, or None for a
    success (delivered, relayed, expanded) that needs nothing."""
    action = action.strip().lower()
    if action == DELAYED:
        return SOFT
    klass = status[0] if status else None
    if action != FAILED and klass not in ("4", "5"):
        return None
    if klass == "5" and not any(code.fullmatch(status) for code in _NOT_THE_ADDRESS):
        return HARD
    # 4.x.x, the 5.x.x that are not the address's fault, and a failure without a readable code:
    # one unclear report never suppresses at once.
    return SOFT


def is_complaint(feedback_type: str | None) -> bool:
    """Whether an ARF report's Feedback-Type is a complaint about the mail."""
    return (feedback_type or "").strip().lower() in COMPLAINT_TYPES


def report_key(source: str, report_id: str, recipient: str) -> str:
    """What makes a report itself (the report's id and the recipient it is about), at most
    KEY_LIMIT characters: a longer one is replaced by its hash."""
    key = f"{source}:{report_id} {recipient}"
    if len(key) <= KEY_LIMIT:
        return key
    return f"{source}:sha256:{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"


@dataclass(frozen=True)
class Report:
    """What one report says about one recipient, before it is matched to a customer.

    ``address``: the recipient it names (lowercased), if it names one; ``message_id``: the
    original message's Message-ID, if it quotes it; ``return_paths``: the addresses the report
    was sent to or names as the original's envelope sender (a VERP return path among them names
    the customer); ``reported_at``: when the report says it happened, never in the future."""

    key: str
    kind: str
    source: str = MAILBOX
    address: str | None = None
    message_id: str | None = None
    return_paths: tuple[str, ...] = ()
    status: str | None = None
    detail: str | None = None
    reported_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in (HARD, SOFT, COMPLAINT):
            raise ValueError(f"unknown report kind {self.kind!r}")
        if self.source not in SOURCES:
            raise ValueError(f"unknown report source {self.source!r}")
        at, now = self.reported_at, utcnow()
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)  # a date without a zone: RFC 5322 says -0000 is UTC
        # A report without a time, or dated in the future (a wrong clock), happened now.
        object.__setattr__(self, "reported_at", now if at is None or at > now else at)
