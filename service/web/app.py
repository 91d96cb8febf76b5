"""The web application: staff preview pages, and the mount point of the preference centre.

`create_app(settings)` builds a Starlette app. This is the only HTTP place that turns domain
errors into status codes and pages; every response gets the security headers."""

from __future__ import annotations

import gc
import logging
from typing import Iterable

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from preferences.web.api import routes as api
from preferences.web.csrf import protect
from preferences.database import make_engine
from preferences.links import LinkSigner
from preferences.web.pages import routes as preference_routes

from service.web import web_version
from service.web.catalogue import centre_for
from service.delivery.registry import parse_target
from service.lifecycle.confirmations import ConfirmationMailer
from service.content.live import LiveContent
from service.web.preview import PreviewPages
from service.web.staff import STAFF_HEADERS, is_staff_path, page
from service.assembly.render import Renderer
from service.content.problems import ContentError
from service.settings import Settings

log = logging.getLogger(__name__)

COMMON_HEADERS = {"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
# Staff pages frame their own email view; nothing else is ever framed (clickjacking).
STAFF_FRAMES, PUBLIC_FRAMES = "SAMEORIGIN", "DENY"
ERROR_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
TITLES = {400: "Bad request", 401: "Sign in required", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 413: "Request too large", 500: "Something went wrong",
          503: "Temporarily unavailable"}
PUBLIC_MESSAGES = {
    404: "Diese Seite gibt es nicht. / This page does not exist.",
    500: "Etwas ist schiefgegangen; bitte versuchen Sie es später noch einmal. "
         "/ Something went wrong; please try again later.",
    503: "Diese Seite ist gerade nicht verfügbar; bitte versuchen Sie es später noch einmal. "
         "/ This page is not available right now; please try again later.",
}


def create_app(settings: Settings, *, extra_routes: Iterable[BaseRoute] = ()) -> Starlette:
    """The app for `settings`; `extra_routes` (e.g. the preference centre's routes or a Mount of
    them, the web version's `/view/...` route, the JSON API) are served beside the preview."""
    def new_renderer() -> Renderer:
        return Renderer(LinkSigner(settings.link_keys), settings.base_url, settings.unsubscribe_mailto)

    preview = PreviewPages(settings, new_renderer)
    engine = make_engine(settings.database_url)
    live = LiveContent(settings.content_dir, interval=2.0)
    renderer = new_renderer()
    centre = centre_for(settings, live, engine)
    routes: list[BaseRoute] = [
        # The customers' pages first: the router tries the routes in order, on every request.
        *preference_routes(centre, on_confirmation_needed=ConfirmationMailer(
            parse_target(settings.relay), settings.sender_email, lambda: live.current().content)),
        *preview.routes(),
        *web_version.routes(live, engine, centre.signer, renderer),
        *api.routes(centre),
        *extra_routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders),
                    Middleware(protect, secret=settings.csrf_secret,
                               secure=settings.base_url.startswith("https://"))],
        exception_handlers={ContentError: content_error, HTTPException: http_error, Exception: server_error},
    )
    app.state.settings = settings
    app.state.engine = engine
    return app


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


async def content_error(request: Request, exc: Exception) -> HTMLResponse:
    """Broken content: staff see every `path:line: message` (status 200, so the page they
    reload while fixing files is this list); anyone else a plain 503."""
    assert isinstance(exc, ContentError)
    if is_staff_path(request.url.path):
        return HTMLResponse(page("preview_problems.html", problems=exc.problems), headers=STAFF_HEADERS)
    log.error("content has errors, %s cannot be served:\n%s", request.url.path, exc)
    return _error_page(request, 503)


async def http_error(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, HTTPException)
    return _error_page(request, exc.status_code, exc.detail, exc.headers)


async def server_error(request: Request, exc: Exception) -> HTMLResponse:
    # Runs outside the middleware stack (Starlette's ServerErrorMiddleware), so it adds the
    # security headers itself. The traceback goes to the log, never to the page.
    response = _error_page(request, 500)
    for name, value in security_headers(request.url.path).items():
        response.headers.setdefault(name, value)
    return response


def _error_page(request: Request, status: int, detail: str | None = None,
                headers: dict[str, str] | None = None) -> Response:
    if status in (204, 304):  # no body allowed
        return Response(status_code=status, headers=headers)
    staff = is_staff_path(request.url.path)
    title = TITLES.get(status, "Error")
    if staff and detail:
        message = detail
    else:
        message = PUBLIC_MESSAGES.get(status) or detail or title
    body = page("error.html", title=title, message=message, staff=staff)
    return HTMLResponse(body, status_code=status,
                        headers={**(headers or {}), "Content-Security-Policy": ERROR_CSP,
                                 "Cache-Control": "no-store"})


def app_from_env() -> Starlette:
    """The app with settings from the environment: `uvicorn --factory service.web.app:app_from_env`
    (several workers, or behind a process manager)."""
    return ready_to_serve(create_app(Settings.from_env()))


def ready_to_serve(app: Starlette) -> Starlette:
    """``app``, with what start-up made (content, templates, SQLAlchemy, ...) moved out of the
    cyclic garbage collector's view: a full collection over those ~110,000 objects took 37 ms
    here, a pause that every request in flight would wait out."""
    gc.collect()
    gc.freeze()
    return app
