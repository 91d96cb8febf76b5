"""CSRF protection of the preference pages' forms, with asgi-csrf (double-submit cookie).

The pages need no JavaScript, so the token travels as a hidden form field ``csrftoken``, matched
against a signed cookie of the same value. Protected always (a POST without the cookie is
refused too): every POST under ``/preferences/`` and ``/confirm/``, and the hosted signup form's
``/signup``. Exempt: ``/unsubscribe/``, the RFC 8058 one-click URL, which mail providers POST to
without any cookie or token (the signed link itself is the authority, and it can only ever
narrow consent); and ``/signup?via=embed``, the form a shop embeds in its own pages, which cannot
carry our token (it has the honeypot, the rate limits and the double opt-in itself, and the
operator can limit it to the shop's hosts).

Only the preference centre's paths go through the check; the rest of the application (preview,
JSON API with bearer keys) is passed through untouched, so a cookie left by these pages never
makes asgi-csrf demand a token from forms it does not know about.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from asgi_csrf import asgi_csrf
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from preferences import translations
from preferences.links import Purpose
from preferences.web import i18n

log = logging.getLogger(__name__)

FORM_FIELD = "csrftoken"  # asgi-csrf's form field name, used by the page templates
SIGNUP_PATH = "/signup"
PROTECTED_PREFIXES = (Purpose.PREFERENCES.path, Purpose.CONFIRM.path, SIGNUP_PATH)
ONE_CLICK_PREFIX = Purpose.UNSUBSCRIBE.path
CENTRE_PREFIXES = (*PROTECTED_PREFIXES, ONE_CLICK_PREFIX)
# The pages' forms are a few hundred bytes; asgi-csrf reads a form body into memory to find the token.
MAX_BODY_BYTES = 64 * 1024
_STATE = "newsletter.csrf"

HEADERS = [(b"content-type", b"text/html; charset=utf-8"),
           *((name.lower().encode(), value.encode()) for name, value in i18n.PAGE_HEADERS.items())]


class _Prefixes:
    """A path container for asgi-csrf's ``always_protect``: it tests ``path in always_protect``,
    and our paths carry a token, so membership means "starts with one of the prefixes"."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and path.startswith(self.prefixes)


def _is_exempt(scope: Scope) -> bool:
    if scope.get("method") != "POST":
        return False
    path = scope.get("path", "")
    if path.startswith(ONE_CLICK_PREFIX):
        return True
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return path == SIGNUP_PATH and query.get("via") == ["embed"]


def protect(app: ASGIApp, secret: bytes, *, secure: bool = False) -> ASGIApp:
    """``app`` with the preference centre's POSTs CSRF-protected.

    ``secret`` signs the cookie (e.g. ``Settings.csrf_secret``). ``secure``: the site runs on
    https, so the cookie is ``Secure`` and named ``__Host-csrftoken`` (bound to this host and
    path /). Usable as a Starlette middleware factory too: ``Middleware(protect, secret=...)``.
    """
    if not secret:
        raise ValueError("protect() needs a non-empty secret")
    cookie_name = "__Host-csrftoken" if secure else "csrftoken"
    checked = asgi_csrf(
        _Reached(app),
        cookie_name=cookie_name,
        signing_secret=secret,
        always_protect=_Prefixes(PROTECTED_PREFIXES),
        skip_if_scope=_is_exempt,
        cookie_secure=secure,
        cookie_samesite="Lax",
        send_csrf_failed=_refuse,
    )

    async def protected(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CENTRE_PREFIXES):
            await app(scope, receive, send)
            return
        if _declared_length(scope) > MAX_BODY_BYTES:
            await _problem(send, 413, "too-large")
            return
        state = {"reached": False, "started": False}
        scope = {**scope, _STATE: state}

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                message = {**message, "headers": _http_only(message.get("headers", []), cookie_name)}
            await send(message)

        try:
            await checked(scope, receive, watched_send)
        except Exception:
            # asgi-csrf fails on a body it cannot parse (no multipart boundary, bytes that are
            # not UTF-8): the client's fault, answered with 400. Errors of the app itself are
            # not ours to hide.
            if state["reached"] or state["started"]:
                raise
            log.info("unreadable form body on %s", scope["path"], exc_info=True)
            await _problem(send, 400, "unreadable")

    return protected


def _http_only(headers, cookie_name: str) -> list[tuple[bytes, bytes]]:
    """``headers`` with the CSRF cookie marked HttpOnly: the token travels in a hidden form
    field, no script ever needs to read the cookie (asgi-csrf has no option for it)."""
    prefix = cookie_name.encode() + b"="
    return [(name, value + b"; HttpOnly")
            if name.lower() == b"set-cookie" and value.startswith(prefix) and b"httponly" not in value.lower()
            else (name, value) for name, value in headers]


def form_token(scope: Scope) -> str:
    """The token for a page's hidden ``csrftoken`` field (sets the cookie on the response);
    empty when the app runs without ``protect`` (then no POST is checked either)."""
    make = scope.get("csrftoken")
    return make() if callable(make) else ""


class _Reached:
    """Notes that a request passed the check, so its own errors are not taken for the check's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get(_STATE)
        if state is not None:
            state["reached"] = True
        await self.app(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _refuse(scope: Scope, send: Send, message_id) -> None:
    """asgi-csrf's failure answer: a friendly, bilingual page instead of its one-line text."""
    log.info("CSRF check failed on %s: %s", scope.get("path"), getattr(message_id, "name", message_id))
    path = scope.get("path", "")
    # Back to the page the form came from (its GET sets a fresh cookie): /preferences/<token>
    # for the page's own forms, /confirm/<token> for the confirm button.
    parts = path.split("/")
    back = "/".join(parts[:3]) if len(parts) >= 3 and path.startswith(PROTECTED_PREFIXES) else None
    if path == SIGNUP_PATH:
        back = SIGNUP_PATH
    await _problem(send, 403, "expired", back=back)


async def _problem(send: Send, status: int, kind: str, back: str | None = None) -> None:
    body = i18n.render("problem.html", translations.SOURCE_LOCALE, kind=kind, back=back).encode("utf-8")
    await send({"type": "http.response.start", "status": status, "headers": HEADERS})
    await send({"type": "http.response.body", "body": body})
