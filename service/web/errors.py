"""The app's one registry of exception handlers: domain errors become statuses and pages here.

``handlers()`` is the preference centre's table (``preferences.web.errors``: JSON under /api,
the bilingual problem page on customers' pages) with the service's own errors added: broken
content, HTTP errors of the staff and public pages, and anything unexpected (500, logged, never
a traceback on the page). The public texts come from the gettext catalogues, German and English
side by side (an error page cannot know the customer's language)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from preferences import translations
from preferences.web import errors as centre_errors
from preferences.web.api.inputs import ApiError
from service.content.problems import ContentError
from service.web.security_headers import security_headers
from service.web.staff import STAFF_HEADERS, is_staff_path, page

log = logging.getLogger(__name__)

ERROR_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
TITLES = {400: "Bad request", 401: "Sign in required", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 413: "Request too large", 500: "Something went wrong",
          503: "Temporarily unavailable"}
# A page that cannot know its reader (an error, a bad link) speaks these, in this order.
PAGE_LANGUAGES = ("de", "en")


def public_message(status: int) -> str | None:
    """What a customer reads on an error page, in German and English."""
    def _(message: str) -> str:
        return message  # marks the text for the catalogue; translated below
    texts = {
        404: _("This page does not exist."),
        500: _("Something went wrong; please try again later."),
        503: _("This page is not available right now; please try again later."),
    }
    text = texts.get(status)
    if text is None:
        return None
    return " / ".join(dict.fromkeys(translations.for_locale(locale).gettext(text) for locale in PAGE_LANGUAGES))


def handlers() -> dict:
    return {**centre_errors.handlers(), ContentError: content_error, HTTPException: http_error,
            Exception: server_error}


async def content_error(request: Request, exc: Exception) -> Response:
    """Broken content: staff see every `path:line: message` (status 200, so the page they
    reload while fixing files is this list); anyone else a plain 503."""
    assert isinstance(exc, ContentError)
    if is_staff_path(request.url.path):
        return HTMLResponse(page("preview_problems.html", problems=exc.problems), headers=STAFF_HEADERS)
    log.error("content has errors, %s cannot be served:\n%s", request.url.path, exc)
    if centre_errors.is_api(request):
        return ApiError(503, "the content has errors; retry later", headers={"Retry-After": "60"}).response()
    return _error_page(request, 503)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if centre_errors.is_api(request):
        return await centre_errors.http_error(request, exc)
    return _error_page(request, exc.status_code, exc.detail, exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    # Runs outside the middleware stack (Starlette's ServerErrorMiddleware), so it adds the
    # security headers itself. The traceback goes to the log, never to the page.
    if centre_errors.is_api(request):
        response: Response = ApiError(500, "internal error").response()
    else:
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
    message = detail if staff and detail else (public_message(status) or detail or title)
    body = page("error.html", title=title, message=message, staff=staff)
    return HTMLResponse(body, status_code=status,
                        headers={**(headers or {}), "Content-Security-Policy": ERROR_CSP,
                                 "Cache-Control": "no-store"})
