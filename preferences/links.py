"""Signed personal links: ``/preferences/{token}``, ``/unsubscribe/{token}``, ``/view/{token}``,
``/confirm/{token}``, ``/r/{sealed target}/{token}`` (a tracked link).

A token is ``<public_id>.<sig>``: the customer's random public id (22 URL-safe characters) and
the first 16 bytes (128 bits) of HMAC-SHA256 over a per-purpose salt and the public id, in
URL-safe base64 without padding (22 characters). Tokens never expire, because a newsletter from
last year must still unsubscribe; keys rotate instead (the first key signs, every key verifies).

The unsubscribe and preference links of a mail end with the edition they were sent in,
``?edition=weekly/2026-11-23`` (``edition_query``; the mailto unsubscribe's subject names it too).
The pages read it (``edition_of``) and record it on the consent events they write
(``consent.from_edition``), so churn and the narrower choices count per edition. It is not
signed: it only says where a customer clicked, a customer can only name an edition for
themselves, and the results count an event for an edition only where the ledger sent that
customer that edition. Anything that is not an edition's shape is ignored.

A sealed value (``seal``) is a short text readable by anyone but changed by no one: its URL-safe
base64 and the HMAC over it, e.g. a tracked link's target, so the redirect never goes anywhere a
sent email did not link to, whatever the database holds or lacks.

Signing runs once or twice per recipient on the send's hot path, so the keyed, salted HMAC state
is computed once per key and purpose and only copied per token (about a microsecond).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import zlib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Sequence
from urllib.parse import quote

from preferences.errors import BadLink

PUBLIC_ID_LENGTH = 22
SIGNATURE_BYTES = 16
SIGNATURE_LENGTH = 22  # 16 bytes in base64 without padding
TOKEN_LENGTH = PUBLIC_ID_LENGTH + 1 + SIGNATURE_LENGTH
MIN_KEY_BYTES = 16

_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{22}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}")


class Purpose(StrEnum):
    """What a link is for; a token made for one purpose is refused for every other."""

    PREFERENCES = "preferences"
    UNSUBSCRIBE = "unsubscribe"
    CONFIRM = "confirm"
    VIEW = "view"
    CLICK = "r"  # a tracked link: short, it is in every link of a block

    @property
    def path(self) -> str:
        """The URL path prefix of this purpose's page, e.g. ``/preferences/``."""
        return f"/{self.value}/"


def _salt(purpose: Purpose) -> bytes:
    # Versioned and NUL-terminated: no purpose's salt is a prefix of another's message.
    return b"newsletter.link.v1\x00" + purpose.value.encode("ascii") + b"\x00"


def _seal_salt(purpose: Purpose) -> bytes:
    return b"newsletter.seal.v1\x00" + purpose.value.encode("ascii") + b"\x00"


MAX_SEALED_LENGTH = 4096
# "~" marks a body deflated against the caller's preset dictionary (raw deflate, RFC 1951).
_DEFLATED = "~"
_SEALED = re.compile(r"~?[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}")


def _base64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _encode(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).rstrip(b"=").decode("ascii")


def unverified_public_id(token: object) -> str:
    """The public id inside a well-formed token, WITHOUT checking the signature.

    Only for links whose signature depends on stored state (``context``, e.g. a confirm link
    bound to the preference version): look the customer up, then ``verify`` with the context.
    Raises BadLink for anything that is not shaped like a token.
    """
    if not isinstance(token, str) or len(token) != TOKEN_LENGTH or not _TOKEN.fullmatch(token):
        raise BadLink("malformed")
    return token[:PUBLIC_ID_LENGTH]


class LinkSigner:
    """Signs and verifies link tokens with a list of keys: the first signs, all verify."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if isinstance(keys, (bytes, str)) or not keys:
            raise ValueError("LinkSigner needs a non-empty sequence of keys")
        for key in keys:
            if not isinstance(key, bytes):
                raise TypeError("link keys must be bytes")
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(f"every link key must be at least {MIN_KEY_BYTES} bytes")
        self._keys = tuple(keys)
        # states[purpose] = one HMAC state per key, already fed the key and the purpose's salt.
        self._states = {
            purpose: tuple(hmac.new(key, _salt(purpose), hashlib.sha256) for key in keys)
            for purpose in Purpose
        }
        self._seal_states = {
            purpose: tuple(hmac.new(key, _seal_salt(purpose), hashlib.sha256) for key in keys)
            for purpose in Purpose
        }

    def __reduce__(self):
        # HMAC states cannot be pickled; send worker processes rebuild them from the keys.
        return (LinkSigner, (self._keys,))

    def __repr__(self) -> str:
        # Never show key material in logs or tracebacks.
        return f"LinkSigner(<{len(self._keys)} keys>)"

    def _keyed(self, purpose: Purpose | str) -> tuple:
        # A StrEnum hashes like its value: "unsubscribe" and Purpose.UNSUBSCRIBE find the same
        # states without a conversion on the hot path.
        try:
            return self._states[purpose]
        except (KeyError, TypeError):
            raise ValueError(f"unknown link purpose {purpose!r}") from None

    def sign(self, public_id: str, purpose: Purpose | str, context: str = "") -> str:
        """The token for ``public_id`` and ``purpose``, signed with the first key.

        ``context`` binds the token to extra state the verifier will know (e.g. a preference
        version, so a confirm link works once); it is not part of the token.
        """
        if not _PUBLIC_ID.fullmatch(public_id):
            raise ValueError(f"not a public id: {public_id!r}")
        state = self._keyed(purpose)[0].copy()
        # The public id has a fixed length, so id + context cannot be split two ways.
        state.update(public_id.encode("ascii") + context.encode("utf-8"))
        return public_id + "." + _encode(state.digest())

    def verify(self, token: object, purpose: Purpose | str, context: str = "") -> str:
        """The public id in ``token`` if some key signed it for ``purpose`` (and ``context``).

        Raises BadLink otherwise. The shape is checked before any hashing, so garbage and huge
        inputs cost nothing; signatures are compared in constant time, and every key is tried
        whatever the outcome, so timing does not tell which key (if any) matched.
        """
        public_id = unverified_public_id(token)
        signature = token[PUBLIC_ID_LENGTH + 1:]  # type: ignore[index]
        message = public_id.encode("ascii") + context.encode("utf-8")
        valid = False
        for base in self._keyed(purpose):
            state = base.copy()
            state.update(message)
            # Compare the encoded text, not decoded bytes: base64 has several spellings of the
            # last character, and only the canonical one may be accepted (no token malleability).
            valid |= hmac.compare_digest(_encode(state.digest()), signature)
        if not valid:
            raise BadLink("signature")
        return public_id

    def seal(self, text: str, purpose: Purpose, dictionary: bytes | None = None) -> str:
        """``text`` in URL-safe base64 with its signature: ``unseal`` gives it back unchanged.

        With a ``dictionary`` (strings the texts of this kind share), the text is deflated against
        it first: a link's sealed target takes about 40% of the characters. ``unseal`` needs the
        same dictionary, so a dictionary once used must never change (a new one needs a new mark)."""
        data = text.encode("utf-8")
        if dictionary is None:
            body = _base64(data)
        else:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, dictionary)
            body = _DEFLATED + _base64(packer.compress(data) + packer.flush())
        state = self._seal_states[purpose][0].copy()
        state.update(body.encode("ascii"))
        return body + "." + _encode(state.digest())

    def unseal(self, sealed: object, purpose: Purpose, dictionary: bytes | None = None) -> str:
        """The text ``seal`` sealed for ``purpose`` with any of the keys (and ``dictionary``, if
        the body was deflated); BadLink otherwise. Only a body whose signature holds is inflated,
        and never past MAX_SEALED_LENGTH bytes."""
        if not isinstance(sealed, str) or len(sealed) > MAX_SEALED_LENGTH or not _SEALED.fullmatch(sealed):
            raise BadLink("malformed")
        body, _, signature = sealed.rpartition(".")
        valid = False
        for base in self._seal_states[purpose]:
            state = base.copy()
            state.update(body.encode("ascii"))
            valid |= hmac.compare_digest(_encode(state.digest()), signature)
        if not valid:
            raise BadLink("signature")
        deflated = body.startswith(_DEFLATED)
        if deflated and dictionary is None:
            raise BadLink("malformed")
        try:
            encoded = body[len(_DEFLATED):] if deflated else body
            data = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            if deflated:
                unpacker = zlib.decompressobj(-15, dictionary)
                data = unpacker.decompress(data, MAX_SEALED_LENGTH)
                if unpacker.unconsumed_tail or not unpacker.eof:
                    raise ValueError("not one whole deflated text")
            return data.decode("utf-8")
        except (ValueError, UnicodeDecodeError, zlib.error):  # pragma: no cover - only a key holder makes one
            raise BadLink("malformed") from None

    def path(self, public_id: str, purpose: Purpose | str, context: str = "") -> str:
        """The site-relative path of a personal link, e.g. ``/unsubscribe/<token>``."""
        purpose = Purpose(purpose)
        return purpose.path + self.sign(public_id, purpose, context)

    def url(self, base_url: str, public_id: str, purpose: Purpose | str, context: str = "") -> str:
        """The absolute URL of a personal link under ``base_url`` (e.g. ``https://news.example.com``)."""
        return base_url.rstrip("/") + self.path(public_id, purpose, context)


# The edition a personal link came from ---------------------------------------------------------

EDITION_PARAM = "edition"
_EDITION = re.compile(r"([a-z0-9][a-z0-9_-]{0,63})/(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class EditionRef:
    template: str
    day: date

    @property
    def id(self) -> str:
        return f"{self.template}/{self.day.isoformat()}"


def edition_of(value: object) -> EditionRef | None:
    """The edition named by a link's ``edition`` parameter, or None for anything else."""
    if not isinstance(value, str) or len(value) > 80:
        return None
    found = _EDITION.fullmatch(value)
    if found is None:
        return None
    try:
        return EditionRef(found.group(1), date.fromisoformat(found.group(2)))
    except ValueError:
        return None


def edition_query(edition_id: str) -> str:
    """The query string a mail's personal links end with: ``?edition=weekly/2026-11-23``."""
    return f"?{EDITION_PARAM}={quote(edition_id, safe='/')}"
