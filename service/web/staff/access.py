"""Who may see the staff pages (``authorize_staff``).

With staff accounts (``newsletter staff add``), a staff page needs a signed-in account: its
session cookie (``service.staff.sessions``), checked against the account on every request, so a
sign-out, a password change or a disable ends it at once; a browser without one is sent to the
sign-in page (303), anything else gets 401. The account is ``request.state.staff``.

Without any account (the local demo), the single shared preview password lets a request through
(HTTP Basic, any user name); with none configured, staff pages are closed to everyone but a
browser on this machine, never public by default. Once an account exists, the shared password
opens nothing any more."""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import threading
import time
from urllib.parse import quote

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from service.staff import accounts
from service.staff.accounts import Account
from service.staff.sessions import Sessions

LOGIN_PATH = "/staff/login"

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


class StaffAccess:
    """The accounts behind the staff pages of one app (``app.state.staff_access``)."""

    def __init__(self, engine: Engine, sessions: Sessions) -> None:
        self.engine, self.sessions = engine, sessions
        self._in_use: tuple[float, bool] | None = None
        self._lock = threading.Lock()

    def in_use(self) -> bool:
        """Whether any account exists (asked at most every few seconds; once true, it stays)."""
        with self._lock:
            if self._in_use is not None and (self._in_use[1] or time.monotonic() - self._in_use[0] < 5):
                return self._in_use[1]
        try:
            with self.engine.connect() as conn:
                found = accounts.any_accounts(conn)
        except SQLAlchemyError:
            # A database without the staff table (never migrated: a bare preview) has no
            # accounts; any other failure must not open the pages to the shared password.
            if inspect(self.engine).has_table("staff"):
                raise
            found = False
        with self._lock:
            self._in_use = (time.monotonic(), found)
        return found

    def current(self, request: Request) -> Account | None:
        """The signed-in account of ``request``, if its session is still valid."""
        read = self.sessions.read(request.cookies.get(self.sessions.cookie))
        if read is None:
            return None
        with self.engine.connect() as conn:
            account = accounts.by_id(conn, read[0])
        if account is None or account.disabled or account.session_epoch != read[1]:
            return None
        return account


def authorize_staff(request: Request, password: str | None) -> None:
    """Return when the request may see staff pages; otherwise send the browser to sign in (303),
    or answer 401 (a Basic challenge, for the shared password) or 403.

    Without accounts and without a configured password only a request from this machine gets
    through, and not one that a proxy forwarded (its peer is local, its client is not): 403
    naming the setting."""
    access: StaffAccess | None = getattr(request.app.state, "staff_access", None)
    if access is not None and access.in_use():
        account = access.current(request)
        if account is not None:
            request.state.staff = account
            return
        if request.method in ("GET", "HEAD"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise HTTPException(303, "Please sign in.", headers={"Location": f"{LOGIN_PATH}?next={quote(target)}"})
        raise HTTPException(401, "Please sign in.")
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
