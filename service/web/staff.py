"""What every staff page shares: where they live, how they look, who may see them.

Staff pages (the preview today) live under ``PREFIX``, are rendered from service/web/templates/
(autoescaped), and are sent with ``STAFF_HEADERS``; ``authorize_staff`` lets a request through
with the preview password (HTTP Basic, any user name) when one is configured."""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException
from starlette.requests import Request

PREFIX = "/preview"
# The email is shown in srcdoc, so it lives under this policy too: its inline CSS and https
# images load, nothing else does (no scripts, fonts, frames or form posts elsewhere).
PAGE_CSP = ("default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
STAFF_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}


def is_staff_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


@functools.cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def page(name: str, **context) -> str:
    """One of the staff pages in service/web/templates/, rendered (autoescaped)."""
    return _environment().get_template(name).render(**context)


def authorize_staff(request: Request, password: str | None) -> None:
    """Return when the request may see staff pages; 401 with a Basic challenge otherwise."""
    if password is None or _password_ok(request.headers.get("authorization"), password):
        return
    raise HTTPException(401, "This preview is for staff: sign in with the preview password.",
                        headers={"WWW-Authenticate": 'Basic realm="Newsletter preview", charset="UTF-8"'})


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
