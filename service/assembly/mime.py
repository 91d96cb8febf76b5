"""MIME messages assembled from pre-encoded parts: the per-variant work is done once.

A body that is ASCII in lines of at most 998 octets (an HTML body made so by
service.assembly.ascii_html) goes as 7bit: its pieces are its bytes, a recipient's values are
only encoded to ASCII, and a recipient whose values would make a line too long gets that part
quoted-printable instead. Any other body is quoted-printable encoded piece by piece at the
variant's placeholders; a recipient costs encoding their few values and one join. Soft line
breaks (`=` CRLF) around every value keep each piece's encoding independent of what is
substituted next to it."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import operator
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

from service.assembly.personal import Substitution

CRLF = b"\r\n"
SOFT_BREAK = b"=\r\n"
MAX_LINE = 998  # octets in a line without its CRLF (RFC 5322)
# Not 7bit data (RFC 2045 2.7): beyond ASCII, NUL, or a CR/LF that is not a line end of ours.
_NOT_7BIT = re.compile(r"[^\x01-\x09\x0b\x0c\x0e-\x7f]")
_FROM_LINE = re.compile(rb"(?:^|\n)>*From ")
_NOT_7BIT_LITERAL = re.compile(r"[^\x01-\x0c\x0e-\x7f]")  # a literal's LF is a line end
_ATEXT_PHRASE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$")


def qp(text: str) -> bytes:
    """Quoted-printable (RFC 2045) with CRLF line ends; lines never exceed 76 octets."""
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    return encoded.replace(b"\n", CRLF)


def _plain(text: str) -> bool:
    # Printable ASCII that no mail program would decode as an encoded-word.
    return text.isascii() and text.isprintable() and "=?" not in text


def encode_words(text: str) -> str:
    """RFC 2047 'B' encoded-words for a header value, folded; plain ASCII text is left readable."""
    if _plain(text):
        return text
    data, words, start = text.encode("utf-8"), [], 0
    while start < len(data):
        end = min(start + 45, len(data))  # 45 bytes -> 60 base64 chars -> a 72-char word
        while end < len(data) and data[end] & 0xC0 == 0x80:  # never split inside a character
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start = end
    return "\r\n ".join(words)


def mailbox(name: str | None, address: str) -> str:
    """`Name <address>` with the name quoted or encoded as it needs."""
    if not name:
        return address
    if not _plain(name):
        return f"{encode_words(name)} <{address}>"
    if _ATEXT_PHRASE.match(name):
        return f"{name} <{address}>"
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + f'" <{address}>'


def message_id(edition_id: str, public_id: str, domain: str) -> str:
    """Deterministic per edition and customer, without revealing the customer's id."""
    digest = hashlib.sha256(f"{edition_id}\0{public_id}".encode()).hexdigest()[:32]
    return f"<{edition_id.replace('/', '.')}.{digest}@{domain}>"


def _lay_out(body) -> None:
    """A body's skeleton (pieces[0], then per field: a slot for its value, the next piece) and the
    picker of its fields' values in order (in C; itemgetter of one name gives the value itself)."""
    skeleton: list[bytes | None] = [body.pieces[0]]
    for piece in body.pieces[1:]:
        skeleton += (None, piece)
    object.__setattr__(body, "skeleton", tuple(skeleton))
    pick = operator.itemgetter(*body.fields) if body.fields else (lambda _: ())
    object.__setattr__(body, "_pick", pick if len(body.fields) != 1 else (lambda values: (pick(values),)))


@dataclass(frozen=True)
class EncodedBody:
    """A body's QP-encoded literal pieces and the fields between them."""

    pieces: tuple[bytes, ...]
    fields: tuple[str, ...]
    # Fields whose every value is short printable ASCII without "=" (e.g. a link token): already
    # quoted-printable as it is, so it is only encoded to bytes.
    verbatim: frozenset[str] = frozenset()
    distinct: frozenset[str] = field(init=False, repr=False, compare=False)
    # pieces[0], then per field: (its value, between soft breaks), the next piece
    skeleton: tuple[bytes | None, ...] = field(init=False, repr=False, compare=False)
    _pick: Callable[[Mapping[str, bytes]], tuple[bytes, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "distinct", frozenset(self.fields))
        _lay_out(self)

    @classmethod
    def of(cls, body: Substitution, verbatim: frozenset[str] = frozenset()) -> "EncodedBody":
        return cls(tuple(qp(p) for p in body.literals), body.fields, verbatim)

    def encode(self, values: Mapping[str, str]) -> list[bytes]:
        # Each value encoded once (the click token is in every tracked link), framed by its soft
        # breaks once, then laid into the skeleton by one slice assignment: the per-recipient
        # cost hardly grows with the number of fields (a tracked mail has four times as many).
        verbatim = self.verbatim
        encoded = {name: SOFT_BREAK + (values[name].encode("ascii") if name in verbatim else qp(values[name]))
                   + SOFT_BREAK for name in self.distinct}
        out = list(self.skeleton)
        out[1::2] = self._pick(encoded)
        return out


@dataclass(frozen=True)
class SevenBitBody:
    """An ASCII body sent as it is: its pieces with CRLF line ends, the fields between them, and
    the lines that a long value could push past 998 octets (their room and their fields)."""

    pieces: tuple[bytes, ...]
    fields: tuple[str, ...]
    tight: tuple[tuple[int, tuple[str, ...]], ...]
    distinct: tuple[str, ...] = field(init=False, repr=False, compare=False)
    skeleton: tuple[bytes | None, ...] = field(init=False, repr=False, compare=False)
    _pick: Callable[[Mapping[str, bytes]], tuple[bytes, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "distinct", tuple(dict.fromkeys(self.fields)))
        _lay_out(self)

    @classmethod
    def of(cls, body: Substitution, longest: Mapping[str, int]) -> "SevenBitBody | None":
        """The body as 7bit, or None if it is not ASCII or a line cannot fit even short values."""
        if any(_NOT_7BIT_LITERAL.search(p) for p in body.literals):
            return None
        tight, room, names = [], MAX_LINE, []  # the current line: room left, its fields
        for index, literal in enumerate(body.literals):
            lines = literal.split("\n")
            room -= len(lines[0])
            for line in lines[1:]:
                if room < 0:
                    return None
                if sum(longest[n] for n in names) > room:
                    tight.append((room, tuple(names)))
                room, names = MAX_LINE - len(line), []
            if index < len(body.fields):
                names.append(body.fields[index])
        if room < 0:
            return None
        if sum(longest[n] for n in names) > room:
            tight.append((room, tuple(names)))
        return cls(tuple(p.replace("\n", "\r\n").encode("ascii") for p in body.literals), body.fields, tuple(tight))

    def encode(self, values: Mapping[str, str]) -> list[bytes] | None:
        """The body's bytes in pieces; None when a value is not ASCII or a line would be too long."""
        own = [values[name] for name in self.distinct]
        if _NOT_7BIT.search("".join(own)):
            return None
        encoded = {name: value.encode("ascii") for name, value in zip(self.distinct, own)}
        for room, names in self.tight:
            if sum(len(encoded[n]) for n in names) > room:
                return None
        out = list(self.skeleton)
        out[1::2] = self._pick(encoded)
        return out


class MessageTemplate:
    """Everything about one variant's messages that does not depend on the recipient.

    A newsletter names its list (List-Id, and List-Unsubscribe per recipient); a transactional
    mail (``list_id=None``) has none. ``html=None`` makes a text/plain message."""

    def __init__(self, *, sender: str, reply_to: str | None, list_name: str | None, list_id: str | None,
                 subject: Substitution, text: Substitution, html: Substitution | None, boundary_seed: str,
                 verbatim: frozenset[str] = frozenset(), longest: Mapping[str, int] | None = None):
        """``longest``: each HTML field's longest value once escaped, which makes an ASCII HTML
        body eligible for 7bit (lines a long value could overflow are checked per recipient)."""
        # '=_' never occurs in quoted-printable output, so it cannot collide with a body line.
        self.boundary = "=_nl_" + hashlib.sha256(boundary_seed.encode()).hexdigest()[:24]
        self.subject = subject
        part = b"Content-Type: text/%s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        static = [
            f"From: {sender}",
            *([f"Reply-To: {reply_to}"] if reply_to else []),
            *([f"List-Id: {encode_words(list_name or list_id)} <{list_id}>",
               "List-Unsubscribe-Post: List-Unsubscribe=One-Click"] if list_id else []),
            "MIME-Version: 1.0",
        ]
        self.text = EncodedBody.of(text, verbatim)
        self._html, self._verbatim = html, verbatim
        self.html_7bit = SevenBitBody.of(html, longest) if html is not None and longest is not None else None
        # Quoted-printable: the rule without 7bit; else built on first need (_quoted_html).
        self.html = EncodedBody.of(html, verbatim) if html is not None and self.html_7bit is None else None
        # Whether a line of these messages can start with "From " (which an mbox must quote), values
        # aside: in a QP text piece at a line start; in the HTML anywhere (a quoted-printable
        # fallback may wrap a line before it).
        self.from_lines = (any(_FROM_LINE.search(piece) for piece in self.text.pieces)
                           or (html is not None and any("From " in literal for literal in html.literals)))
        if html is None:
            self.static_headers = "\r\n".join(static).encode("ascii") + CRLF + part % b"plain"
            self.text_open, self.html_open, self.close = CRLF, b"", b""
            return
        static.append(f'Content-Type: multipart/alternative; boundary="{self.boundary}"')
        self.static_headers = "\r\n".join(static).encode("ascii") + CRLF
        b = self.boundary.encode("ascii")
        self.text_open = CRLF + b"--" + b + CRLF + part % b"plain" + CRLF
        self.html_open = CRLF + b"--" + b + CRLF + part % b"html" + CRLF
        self.html_7bit_open = (CRLF + b"--" + b + CRLF + b"Content-Type: text/html; charset=utf-8\r\n"
                               b"Content-Transfer-Encoding: 7bit\r\n" + CRLF)
        self.close = CRLF + b"--" + b + b"--" + CRLF

    def with_subject_prefix(self, prefix: str) -> "MessageTemplate":
        """The same messages with ``prefix`` before the subject (a test send's "[TEST] ")."""
        marked = copy.copy(self)
        marked.subject = Substitution((prefix + self.subject.literals[0],) + self.subject.literals[1:],
                                      self.subject.fields)
        return marked

    def build(self, *, to: str, date: str, message_id: str, text_values: Mapping[str, str],
              html_values: Mapping[str, str] | None = None, unsubscribe_url: str | None = None,
              unsubscribe_mailto: str | None = None) -> bytes:
        """The complete message (CRLF line ends, every line at most 998 octets)."""
        subject = self.subject.fill(text_values)
        headers = (
            f"To: {to}\r\nSubject: {encode_words(subject)}\r\nDate: {date}\r\n"
            f"Message-ID: {message_id}\r\n"
            + (f"List-Unsubscribe: <{unsubscribe_url}>,\r\n <{unsubscribe_mailto}>\r\n" if unsubscribe_url else "")
        ).encode("ascii")
        parts = [headers, self.static_headers, self.text_open]
        parts += self.text.encode(text_values)
        if self._html is not None:
            values = html_values or text_values
            seven = self.html_7bit.encode(values) if self.html_7bit is not None else None
            if seven is not None:
                parts.append(self.html_7bit_open)
                parts += seven
            else:
                parts.append(self.html_open)
                parts += self._quoted_html().encode(values)
            parts.append(self.close)
        return b"".join(parts)

    def _quoted_html(self) -> EncodedBody:
        # Built on first need only where 7bit is the rule: a recipient whose values do not fit.
        if self.html is None:
            self.html = EncodedBody.of(self._html, self._verbatim)
        return self.html
