"""``/api/suppressions``: the suppression list for an operator's tools, as ``newsletter
suppressions`` is for the command line: list it (newest first, by reason or address, a page at a
time), look at one entry with the bounce and complaint reports behind it, suppress an address by
hand, lift a suppression. Each change is a consent event of the address's customer (channel
``api``, the API key's name as the actor), written by the same store functions the command line
uses. An extension of the operator API (its keys, errors and OpenAPI document), kept beside it
because ``routes`` is the core's.

Lifting changes only the list: a customer who unsubscribed, as a complaint does, stays
unsubscribed; only the customer can subscribe again (the preference page, or the double opt-in
of the signup form).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from preferences import consent
from preferences.models import Channel, Status
from preferences.suppression import entries, store
from preferences.suppression.tables import DETAIL_LIMIT, KINDS, REASONS, SOURCES
from preferences.web.api.bodies import MAX_EMAIL, by_field, invalid_fields
from preferences.web.api.inputs import ApiError, all_reported, int_param, json_object
from preferences.web.api.openapi import PREFIX, Extension, Operation
from preferences.web.api.outputs import iso
from preferences.web.api.schemas import DEFAULT_PAGE, MAX_PAGE, REF
from preferences.web.centre import Centre

MAX_BODY_BYTES = 16 * 1024
_MAX_ID = 2**62  # inside a 64-bit integer column


class SuppressionInput(BaseModel):
    """The body of POST /suppressions: an operator suppresses an address by hand."""

    model_config = ConfigDict(extra="forbid", strict=True)

    email: str = Field(max_length=MAX_EMAIL, json_schema_extra={"format": "email"})
    note: str = Field(min_length=1, max_length=DETAIL_LIMIT,
                      description="Why, for whoever reads the list later (one line)")


_TEXT = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}
PARAMETERS = {
    "SuppressionId": {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1},
                      "description": "The entry's id (`id` in the list)"},
    "SuppressionReason": {"name": "reason", "in": "query", "required": False, "allowEmptyValue": False,
                          "schema": {"type": "string", "enum": list(REASONS)},
                          "description": "Only entries of this reason"},
    "SuppressionEmail": {"name": "email", "in": "query", "required": False, "allowEmptyValue": False,
                         "schema": {"type": "string", "minLength": 1, "maxLength": MAX_EMAIL},
                         "description": "Only the entry of this address (exact, in any case)"},
    "SuppressionsAfter": {"name": "after", "in": "query", "required": False, "allowEmptyValue": False,
                          "schema": {"type": "integer", "minimum": 1},
                          "description": "Only entries older than this one (the previous page's next_after)"},
}
_STATUSES = [status.value for status in Status]
_ENTRY = {
    "id": {"type": "integer"},
    "email": {"type": "string", "description": "The address, lowercased (the list ignores case)"},
    "reason": {"type": "string", "enum": list(REASONS)},
    "detail": {**_TEXT, "description": "The bounce's status and diagnostic, or the operator's note"},
    "actor": {**_TEXT, "description": "Who suppressed it by hand: the API key's name or the CLI's operator"},
    "created_at": _TIME,
    "customer": {"type": ["object", "null"], "additionalProperties": False, "required": ["external_id", "status"],
                 "description": "The customer whose address it is (null: nobody's)",
                 "properties": {"external_id": {"type": "string"}, "status": {"type": "string", "enum": _STATUSES}}},
}
_REPORT = {
    "type": "object", "additionalProperties": False,
    "required": ["kind", "source", "status", "detail", "template", "edition_date", "message_id", "reported_at"],
    "properties": {"kind": {"type": "string", "enum": list(KINDS)}, "source": {"type": "string", "enum": list(SOURCES)},
                   "status": {**_TEXT, "description": "RFC 3463 code, e.g. 5.1.1; null for a complaint"},
                   "detail": {**_TEXT, "description": "The diagnostic, or the complaint's feedback type"},
                   "template": _TEXT, "edition_date": {"type": ["string", "null"], "format": "date"},
                   "message_id": _TEXT, "reported_at": _TIME},
}
SCHEMAS = {
    "SuppressionInput": SuppressionInput.model_json_schema(ref_template=REF),
    "Suppression": {"type": "object", "additionalProperties": False, "required": list(_ENTRY), "properties": _ENTRY},
    "SuppressionDetail": {
        "type": "object", "additionalProperties": False, "required": [*_ENTRY, "reports"],
        "properties": {**_ENTRY, "reports": {
            "type": "array", "items": _REPORT,
            "description": f"The latest bounce and complaint reports of the address, newest first (at most "
                           f"{entries.RECENT_REPORTS})"}},
    },
    "SuppressionPage": {
        "type": "object", "required": ["suppressions", "next_after"], "additionalProperties": False,
        "properties": {"suppressions": {"type": "array", "items": {"$ref": REF.format(model="Suppression")}},
                       "next_after": {"type": ["integer", "null"]}},
    },
}
_ONE = "/suppressions/{id}"
OPERATIONS = (
    Operation("GET", "/suppressions", "listSuppressions", "The suppressed addresses, newest first",
              "Addresses the send never mails: a hard bounce, soft bounces past their limit, a complaint, or an "
              "operator's decision (`manual`). Paginated: pass the page's `next_after` as `after` for the next "
              "page (null: no more).",
              ok=(200, "One page of entries", "SuppressionPage"), errors=(400,),
              parameters=("SuppressionReason", "SuppressionEmail", "SuppressionsAfter", "Limit")),
    Operation("GET", _ONE, "getSuppression", "One suppressed address, with the reports behind it",
              ok=(200, "The entry", "SuppressionDetail"), errors=(404,), parameters=("SuppressionId",)),
    Operation("POST", "/suppressions", "suppressAddress", "Suppress an address by hand",
              "Reason `manual`, the note as its detail, the API key as its actor; a consent event of the "
              "address's customer, if any (field `suppressed`, channel `api`). Idempotent: an address on the list "
              "already is answered 200 with its entry as it is (its first reason and note stand), a new one 201 "
              "with its `Location`.",
              request="SuppressionInput", ok=(200, "Suppressed already: the entry unchanged", "SuppressionDetail"),
              extra={201: ("Suppressed", "SuppressionDetail")}, errors=(400, 413, 415, 422)),
    Operation("DELETE", _ONE, "liftSuppression", "Take an address off the list",
              "The next edition reaches the address again; a consent event of its customer, if any (field "
              "`suppressed`, channel `api`, the API key as actor). Only the list changes: a customer who "
              "unsubscribed (a complaint unsubscribes too) stays unsubscribed, since only the customer can "
              "subscribe again.", ok=(204, "Lifted", None), errors=(404,), parameters=("SuppressionId",)),
)


def extension(centre: Centre) -> Extension:
    """The suppression list's operations for the API's routes and document."""
    async def list_suppressions(request: Request) -> Response:
        reason = request.query_params.get("reason")
        if reason is not None and reason not in REASONS:
            raise ApiError(400, f"reason must be one of {', '.join(REASONS)}", {"reason": "not a reason"})
        email = request.query_params.get("email")
        if email is not None and not (0 < len(email) <= MAX_EMAIL and email.isprintable()):
            raise ApiError(400, "email must be an address", {"email": f"1 to {MAX_EMAIL} printable characters"})
        after = int_param(request, "after", 0, 1, _MAX_ID) or None
        limit = int_param(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)

        def work() -> list[entries.Entry]:
            with centre.engine.connect() as conn:
                # One more than asked for: tells whether there is a next page.
                return entries.newest(conn, reason=reason, email=email, before=after, limit=limit + 1)

        found = await run_in_threadpool(work)
        page = found[:limit]
        return JSONResponse({"suppressions": [_json(entry) for entry in page],
                             "next_after": page[-1].suppression.id if len(found) > limit else None})

    async def get_suppression(request: Request) -> Response:
        suppression_id = _path_id(request)

        def work() -> dict[str, Any]:
            with centre.engine.connect() as conn:
                return _detail(conn, _found(conn, suppression_id))

        return JSONResponse(await run_in_threadpool(work))

    async def suppress_address(request: Request) -> Response:
        body = await json_object(request, MAX_BODY_BYTES)
        problems = by_field(invalid_fields(SuppressionInput, body))
        with all_reported(problems):  # the model's problems and the domain's, answered together
            store.check_by_hand(body.get("email"), body.get("note"))
        key = request.state.api_key

        def work() -> tuple[dict[str, Any], bool]:
            with consent.acting_as(key), centre.write_engine.begin() as conn:
                found, added = store.suppress_by_hand(conn, body["email"], body["note"], Channel.API, actor=key)
                return _detail(conn, _found(conn, found.id)), added

        entry, added = await run_in_threadpool(work)
        return JSONResponse(entry, status_code=201 if added else 200,
                            headers={"Location": f"{PREFIX}/suppressions/{entry['id']}"})

    async def lift_suppression(request: Request) -> Response:
        suppression_id = _path_id(request)
        key = request.state.api_key

        def work() -> None:
            with centre.write_engine.begin() as conn:
                found = _found(conn, suppression_id)
                if store.lift(conn, found.suppression.address, Channel.API, actor=key) is None:
                    raise _not_found()  # lifted by someone else meanwhile

        await run_in_threadpool(work)
        return Response(status_code=204)

    handlers = {"listSuppressions": list_suppressions, "getSuppression": get_suppression,
                "suppressAddress": suppress_address, "liftSuppression": lift_suppression}
    return Extension(OPERATIONS, handlers, PARAMETERS, SCHEMAS)


def _path_id(request: Request) -> int:
    """The entry id from the URL; one that no entry can have is simply not found."""
    raw = request.path_params["id"]
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= _MAX_ID):
        raise _not_found()
    return int(raw)


def _not_found() -> ApiError:
    return ApiError(404, "no suppression with this id")


def _found(conn: Connection, suppression_id: int) -> entries.Entry:
    found = entries.entry(conn, suppression_id)
    if found is None:
        raise _not_found()
    return found


def _json(entry: entries.Entry) -> dict[str, Any]:
    item = entry.suppression
    customer = None if entry.external_id is None else {"external_id": entry.external_id,
                                                       "status": entry.customer_status}
    return {"id": item.id, "email": item.address, "reason": item.reason, "detail": item.detail,
            "actor": item.actor, "created_at": iso(item.created_at), "customer": customer}


def _detail(conn: Connection, entry: entries.Entry) -> dict[str, Any]:
    reports = [{"kind": r.kind, "source": r.source, "status": r.status, "detail": r.detail, "template": r.template,
                "edition_date": iso(r.edition_date), "message_id": r.message_id, "reported_at": iso(r.reported_at)}
               for r in entries.reports_behind(conn, entry)]
    return {**_json(entry), "reports": reports}
