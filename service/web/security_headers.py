"""The security headers every response of the app carries (a route's own value wins)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.web.staff import is_staff_path

COMMON_HEADERS = {"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
# Staff pages frame their own email view; nothing else is ever framed (clickjacking).
STAFF_FRAMES, PUBLIC_FRAMES = "SAMEORIGIN", "DENY"


class SecurityHeaders:
    """Adds the security headers to every response (a route's own value wins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def security_headers(path: str) -> dict[str, str]:
    staff = is_staff_path(path)
    headers = {**COMMON_HEADERS, "X-Frame-Options": STAFF_FRAMES if staff else PUBLIC_FRAMES}
    if staff:
        headers["Cache-Control"] = "no-store"
    return headers
