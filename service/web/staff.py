"""What every staff page shares: where they live, how they look, who may see them.

Staff pages (the preview today) live under ``PREFIX``, are rendered from service/web/templates/
(autoescaped), and are sent with ``STAFF_HEADERS``. ``authorize_staff`` lets a request through
with the preview password (HTTP Basic, any user name); with none configured, staff pages are
closed to everyone but a browser on this machine (the local demo), never public by default."""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import ipaddress
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException
from starlette.requests import Request

PREFIX = "/preview"
RESULTS_PREFIX = "/results"  # the results pages: staff too
# The email is shown in srcdoc, so it lives under this policy too: its inline CSS and https
# images load, nothing else does (no scripts, fonts, frames or form posts elsewhere).
PAGE_CSP = ("default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
STAFF_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}


def is_staff_path(path: str) -> bool:
    return any(path == prefix or path.startswith((prefix + "/", prefix + "."))
               for prefix in (PREFIX, RESULTS_PREFIX))


@functools.cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def page(name: str, **context) -> str:
    """One of the staff pages in service/web/templates/, rendered (autoescaped)."""
    return _environment().get_template(name).render(**context)


PASSWORD_SETTING = "NEWSLETTER_PREVIEW_PASSWORD"
# Headers a reverse proxy adds: behind one, the peer address is the proxy's, not the client's.
_FORWARDED = ("forwarded", "x-forwarded-for", "x-real-ip")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (an address or ``localhost``) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address((host or "").strip("[]")).is_loopback
    except ValueError:
        return False


def authorize_staff(request: Request, password: str | None) -> None:
    """Return when the request may see staff pages; 401 with a Basic challenge otherwise.

    Without a configured password only a request from this machine gets through, and not one
    that a proxy forwarded (its peer is local, its client is not): 403 naming the setting."""
    if password is None:
        if _from_this_machine(request):
            return
        raise HTTPException(403, "The staff pages are closed: they open to this machine only until "
                                 f"{PASSWORD_SETTING} is set.", headers={"Cache-Control": "no-store"})
    if _password_ok(request.headers.get("authorization"), password):
        return
    raise HTTPException(401, "This preview is for staff: sign in with the preview password.",
                        headers={"WWW-Authenticate": 'Basic realm="Newsletter preview", charset="UTF-8"'})


def _from_this_machine(request: Request) -> bool:
    if any(name in request.headers for name in _FORWARDED):
        return False
    return request.client is not None and is_loopback(request.client.host)


def _password_ok(header: str | None, password: str) -> bool:
    """HTTP Basic credentials with the preview password (any user name), in constant time."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    _, colon, given = decoded.partition(":")
    return bool(colon) and hmac.compare_digest(given.encode("utf-8"), password.encode("utf-8"))
