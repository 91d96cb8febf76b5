"""How the preference centre's errors are answered: the exception handlers of its pages and API.

``handlers()`` maps each error type to a Starlette exception handler (Starlette picks the most
specific type). Under ``/api`` every answer is the API's JSON error; elsewhere it is the
bilingual problem page. Domain code raises; only this table decides statuses. The service's app
merges it into its one registry (``service.web.errors``); a bare preference-centre app (tests)
passes it to Starlette as it is.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from preferences.errors import DuplicateCustomer, InvalidInput, UnknownCustomer
from preferences.web.api.inputs import ApiError
from preferences.web.api.openapi import PREFIX as API_PREFIX
from preferences.web.views import NOT_FOUND, problem

log = logging.getLogger(__name__)
Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_api(request: Request) -> bool:
    path = request.url.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def handlers() -> dict[type[Exception], Handler]:
    return {
        ApiError: _api_error,
        UnknownCustomer: _unknown_customer,
        InvalidInput: _invalid_input,
        DuplicateCustomer: _duplicate_customer,
        SQLAlchemyError: _database,
        HTTPException: http_error,
    }


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _unknown_customer(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return ApiError(404, "no customer with this external id").response()
    return problem(*NOT_FOUND)


async def _invalid_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidInput)
    if is_api(request):
        return ApiError(422, f"invalid input: {', '.join(exc.errors)}", exc.errors).response()
    return problem("unreadable", 400)


async def _duplicate_customer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DuplicateCustomer)
    return ApiError(409, str(exc), {exc.field: str(exc)}).response()


async def _database(request: Request, exc: Exception) -> Response:
    """A database that fails: never a false success, never a traceback."""
    if is_api(request):
        if isinstance(exc, IntegrityError):
            # Two requests created the same customer at once; the loser may simply retry.
            return ApiError(409, "a concurrent change conflicted with this one; retry").response()
        if isinstance(exc, OperationalError) and "locked" in str(exc).lower():
            return ApiError(503, "the database is busy; retry", headers={"Retry-After": "1"}).response()
    log.error("database error on %s %s", request.method, request.url.path.split("/")[1], exc_info=exc)
    if is_api(request):
        return ApiError(503, "the database is unavailable; retry later", headers={"Retry-After": "60"}).response()
    return problem("unavailable", 503, {"Retry-After": "60"})


async def http_error(request: Request, exc: Exception) -> Response:
    """The router's 404 and 405 (and any other HTTPException): JSON under /api, else the page."""
    assert isinstance(exc, HTTPException)
    if is_api(request):
        headers = dict(exc.headers or {})
        if exc.status_code == 404:
            message = f"no API route {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} not allowed here (allowed: {headers.get('Allow', '')})"
        else:
            message = exc.detail
        return ApiError(exc.status_code, message, headers=headers).response()
    if exc.status_code == 404:
        return problem(*NOT_FOUND)
    return problem("unreadable", exc.status_code, dict(exc.headers or {}))
