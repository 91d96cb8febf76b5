"""The per-client rate limit of the signup form, with the `limits` library: a moving window per
client IP address (kept as an HMAC of it, never the address), in memory or in a shared storage
(``redis://...``) so several web processes count together."""

from __future__ import annotations

import hashlib
import hmac
from typing import Callable

from limits import parse, storage, strategies


def signup_limit(rate: str, storage_uri: str, secret: bytes) -> Callable[[str], bool]:
    """``allowed(client_ip)``: True (and counted) while the client is within ``rate``."""
    item = parse(rate)
    limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))

    def allowed(client: str) -> bool:
        key = hmac.new(secret, client.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:32]
        return limiter.hit(item, "signup", key)
    return allowed
