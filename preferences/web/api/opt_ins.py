"""``GET /api/customers/{external_id}/opt-ins``: the proof of a customer's double opt-in, for an
operator who must show it (a complaint, an audit): every request, newest first, with the exact
consent wording shown when asking and when confirming. An extension of the operator API (its
keys, errors and OpenAPI document), kept beside it because ``routes`` is the core's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from preferences import store
from preferences.optin.proof import requests_of
from preferences.web.api.inputs import path_id
from preferences.web.api.openapi import Extension, Operation

_TEXT = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_WORDING = {"type": ["object", "null"], "required": ["version", "locale", "text"],
            "description": "The consent wording shown, exactly as the customer read it",
            "properties": {"version": {"type": "string"}, "locale": {"type": "string"}, "text": {"type": "string"}}}
SCHEMAS = {
    "OptIn": {
        "type": "object", "additionalProperties": False,
        "required": ["requested_at", "channel", "source", "client_hash", "user_agent", "wording", "asked_for",
                     "expires_at", "confirmation"],
        "properties": {
            "requested_at": _TIME, "channel": {"type": "string", "description": "signup, page, api or import"},
            "source": {**_TEXT, "description": "hosted, or embedded:<host of the shop page>"},
            "client_hash": {**_TEXT, "description": "sha256 of the requesting client's IP and user agent"},
            "user_agent": _TEXT, "wording": _WORDING,
            "asked_for": {"type": "object", "description": "The choices asked for (language, excluded groups)"},
            "expires_at": {**_TIME, "description": "When the confirm link stops working"},
            "confirmation": {"type": ["object", "null"], "required": ["at", "channel", "client_hash", "user_agent",
                                                                      "wording"],
                             "properties": {"at": _TIME, "channel": {"type": "string"}, "client_hash": _TEXT,
                                            "user_agent": _TEXT, "wording": _WORDING}},
        },
    },
    "OptIns": {"type": "object", "required": ["opt_ins"], "additionalProperties": False,
               "properties": {"opt_ins": {"type": "array", "items": {"$ref": "#/components/schemas/OptIn"}}}},
}
OPERATION = Operation(
    "GET", "/customers/{external_id}/opt-ins", "listOptIns", "The proof of a customer's double opt-in",
    "Every request to subscribe (signup form, resubscribe, API, import), newest first, at most 100: when, "
    "from where, the client and the consent wording shown; and its confirmation, if any: when, the client "
    "and the wording the confirm page showed.",
    ok=(200, "The customer's requests", "OptIns"), errors=(404,), parameters=("ExternalId",))


def extension(engine: Engine) -> Extension:
    """The opt-in proof operation for the API's routes and document."""
    async def list_opt_ins(request: Request) -> Response:
        external_id = path_id(request)

        def work() -> list[dict[str, Any]]:
            with Session(engine) as session:
                customer = store.get_customer_by_external_id(session, external_id)
                return requests_of(session.connection(), customer.id)  # type: ignore[arg-type]

        return JSONResponse({"opt_ins": _json(await run_in_threadpool(work))})

    return Extension((OPERATION,), {OPERATION.operation_id: list_opt_ins}, {}, SCHEMAS)


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json(item) for item in value]
    return value
