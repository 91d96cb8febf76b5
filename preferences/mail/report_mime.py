"""The parts of a multipart/report (RFC 6522) as the bounce and complaint readers need them.

A report is a ``multipart/report`` whose ``report-type`` names its machine-readable part
(``delivery-status``, ``feedback-report``): that part is blocks of header-like fields, separated
by blank lines (``field_blocks``). After it may come the message the report is about, whole
(``message/rfc822``, ``message/global``) or its headers only (``text/rfc822-headers``,
``message/global-headers``), or nothing: ``returned_headers``.

Messages are parsed with the standard library's ``email`` package in its compat32 policy: its
header values are the plain strings of the message (no structured header objects, which cost a
multiple of the parse on a mailbox of 100,000 reports); ``text`` makes any of them safe to store.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Iterable

_HEADERS_ONLY = ("text/rfc822-headers", "message/global-headers")
_WHOLE = ("message/rfc822", "message/global")
_TRANSPARENT = ("", "7bit", "8bit", "binary")
_TAGGED = re.compile(r"[A-Za-z0-9._-]+\+[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+")
MAX_PARTS = 50  # a report has three; anything with more parts is searched no further


@dataclass(frozen=True)
class Envelope:
    """What a report mail says about the message it is about, beside its recipients: the
    report's own id (its Message-ID, or the hash of its bytes), the original Message-ID and the
    return paths (the addresses the report was sent to, the original's envelope sender)."""

    report_id: str
    message_id: str | None
    return_paths: tuple[str, ...]


def text(value: object, limit: int = 1000) -> str:
    """A header value as clean text: unfolded, stripped, undecodable bytes replaced (never a
    surrogate that a database would refuse), at most ``limit`` characters."""
    if value is None:
        return ""
    raw = str(value)
    if "\n" in raw or "\r" in raw or "\t" in raw:
        raw = " ".join(raw.split())
    raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\x00", "")
    return raw.strip()[:limit]


def report_type(message: Message) -> str | None:
    """The ``report-type`` of a multipart/report, lowercased, or None for any other message."""
    if message.get_content_type() != "multipart/report":
        return None
    kind = message.get_param("report-type")
    return text(kind).lower() if isinstance(kind, str) else None


def parts(message: Message) -> list[Message]:
    """The report's own parts (not the parts inside a returned message), at most MAX_PARTS."""
    payload = message.get_payload()
    if not isinstance(payload, list):
        return []
    return [part for part in payload[:MAX_PARTS] if isinstance(part, Message)]


def field_blocks(part: Message) -> list[Message]:
    """The blocks of fields of a machine-readable report part, each as a Message of headers.

    The ``email`` package splits a message/delivery-status itself and reads any other message/*
    part as a message whose headers are the first block; a part sent base64 or
    quoted-printable (as some servers do for message/global-delivery-status) is decoded first."""
    encoding = text(part.get("Content-Transfer-Encoding")).lower()
    payload = part.get_payload()
    if encoding in _TRANSPARENT and isinstance(payload, list):
        blocks: list[Message] = []
        for block in payload:
            if not isinstance(block, Message):
                continue
            blocks.append(block)
            body = block.get_payload()
            if isinstance(body, str) and body.strip():  # the blocks after the first one
                blocks.extend(_split(body.encode("utf-8", "surrogateescape")))
        return blocks
    return _split(_decoded(payload, encoding))


def _decoded(payload: object, encoding: str) -> bytes:
    # The email package reads any message/* part as a message, whatever its encoding: the
    # encoded text is then the body of a message without headers.
    if isinstance(payload, list):
        inner = payload[0] if payload and isinstance(payload[0], Message) else None
        payload = "" if inner is None else (inner.as_string() if inner.keys() else inner.get_payload())
    if not isinstance(payload, str):
        return b""
    encoded = payload.encode("ascii", "replace")
    try:
        if encoding == "base64":
            return base64.b64decode(encoded)
        if encoding == "quoted-printable":
            return quopri.decodestring(encoded)
    except (binascii.Error, ValueError):
        return b""
    return payload.encode("utf-8", "surrogateescape")


def _split(raw: bytes) -> list[Message]:
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    blocks, current = [], []
    for line in lines + [b""]:
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(BytesHeaderParser().parsebytes(b"\n".join(current) + b"\n\n"))
            current = []
    return blocks


def returned_headers(message: Message) -> Message | None:
    """The headers of the message the report is about, if it came back whole or as headers."""
    for part in parts(message)[1:]:
        kind = part.get_content_type()
        if kind in _WHOLE:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
            raw = part.get_payload(decode=True)  # a message/rfc822 wrongly sent base64
            return BytesHeaderParser().parsebytes(raw) if isinstance(raw, bytes) and raw.strip() else None
        if kind in _HEADERS_ONLY:
            raw = part.get_payload(decode=True)
            return BytesHeaderParser().parsebytes(raw) if isinstance(raw, bytes) and raw.strip() else None
    return None


def message_id(headers: Message | None) -> str | None:
    """The Message-ID of ``headers`` as the ledger stores it (``<...>``), or None."""
    if headers is None:
        return None
    found = text(headers.get("Message-ID"), 300)
    if not found:
        return None
    found = found.split()[0]
    if not found.startswith("<"):
        found = f"<{found.strip('<>')}>"
    return found if len(found) <= 200 and "@" in found else None


def addresses(values: Iterable[object]) -> list[str]:
    """The addr-specs in these header values (To-style lists or a bare address), lowercased."""
    found: list[str] = []
    for value in values:
        raw = text(value)
        if "@" not in raw:
            continue
        for _, address in getaddresses([raw]):
            address = address.strip().lower()
            if "@" in address and address not in found:
                found.append(address)
    return found


def tagged_addresses(values: Iterable[object]) -> list[str]:
    """The addresses with a ``+`` tag in these header values, lowercased: the only ones that can
    be a VERP return path. A plain pattern, not the full address grammar: a return path is
    letters, digits, ``+``, ``-`` and dots (read on 100,000 reports, getaddresses costs more
    than the rest of the reading)."""
    found: list[str] = []
    for value in values:
        raw = str(value) if value is not None else ""
        if "+" not in raw:
            continue
        for address in _TAGGED.findall(raw):
            address = address.lower()
            if address not in found:
                found.append(address)
    return found


def typed_address(value: object) -> str | None:
    """The address of an RFC 3464 address field (``rfc822; Anna@Example.com`` ->
    ``anna@example.com``; RFC 6533's ``utf-8;`` type too), or None."""
    raw = text(value, 400)
    kind, semicolon, address = raw.partition(";")
    if not semicolon:
        address = kind  # no address type given: read it as a plain address
    address = address.strip().strip("<>").strip().lower()
    if "@" not in address or " " in address or len(address) > 320:
        return None
    return address


def date(value: object) -> datetime | None:
    """An RFC 5322 date (``Arrival-Date``, ``Date``) as an aware datetime, or None."""
    raw = text(value, 200)
    if not raw:
        return None
    try:
        found = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if found is None:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=timezone.utc)
