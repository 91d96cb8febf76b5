"""The VERP-style return path of every mail: the bounce address with the recipient in it.

A mail to anna@example.com leaves with the envelope sender (``MAIL FROM``, later the
``Return-Path``) ``bounces+<customer>-<signature>@nordhaus.example``: whatever a remote server
sends back, to that address, names the customer even when the report quotes nothing of the
message (no Message-ID, a rewritten recipient). The customer part is their public id's 16 bytes
in base32 and the signature the first 10 bytes of an HMAC over them, also base32: lowercase
letters and digits only, because some servers lowercase the local part of an address they
bounce to, and 51 characters in all, under the 64 an address's local part may have.

Signed with the link keys (the first signs, every one verifies), so nobody can make a report
that suppresses an address of their choosing by writing to a made-up return path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Sequence

_SALT = b"newsletter.return-path.v1\x00"
ID_BYTES, SIGNATURE_BYTES = 16, 10
_TAG = re.compile(r"([a-z2-7]{26})-([a-z2-7]{16})")


_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, lowercased
_PAIRS = tuple(_ALPHABET[i >> 5] + _ALPHABET[i & 31] for i in range(1024))  # two characters per 10 bits


def _b32(raw: bytes) -> str:
    """``base64.b32encode(raw)`` lowercased without its padding, ten bits at a time from one
    integer: the library's encoder was most of a return path's cost, made for every message."""
    bits = len(raw) * 8
    chunks = -(-bits // 10)
    number = int.from_bytes(raw, "big") << (chunks * 10 - bits)
    return "".join([_PAIRS[(number >> shift) & 1023] for shift in range(chunks * 10 - 10, -1, -10)])[:-(-bits // 5)]


class ReturnPath:
    """Makes and reads the return paths of one bounce address, e.g. ``bounces@nordhaus.example``."""

    def __init__(self, bounce_address: str, keys: Sequence[bytes]) -> None:
        local, at, domain = bounce_address.rpartition("@")
        if not at or not local or not domain or "+" in local:
            raise ValueError(f"not a bounce address: {bounce_address!r} (e.g. bounces@example.com, without +)")
        if not keys:
            raise ValueError("ReturnPath needs at least one key")
        self.address = bounce_address
        self._local, self._domain = local, domain.lower()
        self._states = tuple(hmac.new(key, _SALT, hashlib.sha256) for key in keys)

    def __repr__(self) -> str:
        return f"ReturnPath({self.address!r})"

    def __reduce__(self):
        # HMAC states cannot be pickled; send worker processes rebuild them.
        raise TypeError("build a ReturnPath in each process from the settings")

    def _signature(self, state, raw: bytes) -> str:
        mac = state.copy()
        mac.update(raw)
        return _b32(mac.digest()[:SIGNATURE_BYTES])

    def for_customer(self, public_id: str) -> str:
        """The envelope sender of a mail to the customer with ``public_id``."""
        raw = base64.urlsafe_b64decode(public_id + "==")
        if len(raw) != ID_BYTES or base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != public_id:
            raise ValueError(f"not a public id: {public_id!r}")
        return f"{self._local}+{_b32(raw)}-{self._signature(self._states[0], raw)}@{self._domain}"

    def public_id_of(self, address: object) -> str | None:
        """The public id a return path of ours names, or None for any other address (another
        domain or local part, a bad signature, junk)."""
        if not isinstance(address, str) or len(address) > 320:
            return None
        local, at, domain = address.strip().strip("<>").rpartition("@")
        base, plus, tag = local.lower().partition("+")
        if not at or not plus or domain.lower() != self._domain or base != self._local.lower():
            return None
        found = _TAG.fullmatch(tag)
        if found is None:
            return None
        try:
            raw = base64.b32decode(found.group(1).upper() + "======")
        except (binascii.Error, ValueError):
            return None
        valid = False
        for state in self._states:  # every key, whatever the outcome: timing tells nothing
            valid |= hmac.compare_digest(self._signature(state, raw), found.group(2))
        if not valid or len(raw) != ID_BYTES:
            return None
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
