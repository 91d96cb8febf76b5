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
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from email import message_from_bytes
from email.message import Message
from itertools import islice
from multiprocessing import get_context
from typing import Iterable, Iterator

from preferences.mail import report_mime
from preferences.mail.delivery_status import NotADeliveryStatus, read_delivery_status
from preferences.mail.feedback_report import NotAFeedbackReport, original_mail_from, read_feedback_report
from preferences.mail.report_mime import Envelope
from preferences.suppression.reports import Report

DELIVERY_STATUS, FEEDBACK_REPORT = "delivery-status", "feedback-report"
_DELIVERED_TO = frozenset({"to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "x-rcpt-to"})
MAX_RETURN_PATHS = 20
WINDOW, CHUNK = 1000, 50  # mails handed to the worker processes at a time, and per task


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


def read_bounce_mails(mails: Iterable[tuple[str, bytes]], *, processes: int = 1
                      ) -> Iterator[tuple[str, list[Report] | None]]:
    """``read_bounce_mail`` of each (key, bytes), in order. With ``processes`` > 1 the reading
    runs in that many worker processes, a window of mails ahead of the caller: on a mailbox of
    100,000 reports the email package's parse is most of the run's time, and the caller (who
    records what it read) works on one window while the workers read the next."""
    if processes <= 1:
        for key, raw in mails:
            yield key, read_bounce_mail(raw)
        return
    mails = iter(mails)
    pool = ProcessPoolExecutor(processes, mp_context=get_context("spawn"))
    try:
        ahead: deque = deque()
        while True:
            window = list(islice(mails, WINDOW))
            if window:
                ahead.append(([key for key, _ in window],
                              pool.map(read_bounce_mail, [raw for _, raw in window], chunksize=CHUNK)))
            if not ahead:
                return
            if len(ahead) > 1 or not window:
                keys, results = ahead.popleft()
                yield from zip(keys, results)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
