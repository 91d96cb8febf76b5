"""What the staff pages' forms share: the page language (German or English, from ``?lang=`` or
the browser), and the two guards on every POST that changes something. ``same_site``: the form
was sent from a page of this very site (``Sec-Fetch-Site``, else ``Origin``). ``form_token``: a
hidden field derived from the signed-in session (an HMAC of the session cookie, which no other
site can read), so a forged form fails even in a browser that sends neither header."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

LANGUAGES = ("de", "en")
TOKEN_FIELD = "form_token"


def language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked  # type: ignore[return-value]
    for part in request.headers.get("accept-language", "").split(",")[:8]:
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return LANGUAGES[0]


def same_site(request: Request) -> bool:
    """Whether a POST came from a page of this very site. Browsers say so in ``Sec-Fetch-Site``
    (the staff pages send no Referer, so Chromium's ``Origin`` is ``null``); an older one by
    ``Origin``; a client that is no browser sends neither and is not at risk of forgery."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        return referer is None or urlsplit(referer).netloc == request.headers.get("host", request.url.netloc)
    return origin != "null" and urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def form_token(request: Request, secret: bytes, cookie: str) -> str:
    """The hidden field's value for the session in the ``cookie`` of ``request``."""
    session = request.cookies.get(cookie, "").encode()
    return hmac.new(secret, b"staff-form\0" + session, hashlib.sha256).hexdigest()


def form_ok(request: Request, sent: object, secret: bytes, cookie: str) -> bool:
    """Whether a POST is this site's own form of this session (both guards)."""
    return (same_site(request) and isinstance(sent, str) and bool(request.cookies.get(cookie))
            and hmac.compare_digest(sent.encode(), form_token(request, secret, cookie).encode()))
