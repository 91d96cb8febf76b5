"""The operator API's OpenAPI 3.1 description, built from one table of operations.

``OPERATIONS`` is the single list of what the API offers: ``preferences.api`` builds its routes
from it, and ``document`` turns it into the schema served at ``/api/openapi.json``. Attribute,
locale and product-group schemas come from the catalogue of the moment, so the document always
describes what the server accepts now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from preferences.attributes import MAX_TEXT_LENGTH, Attribute
from preferences.customers import MAX_EXTERNAL_ID, MAX_FIRST_NAME
from preferences.models import Channel, Frequency, Status

PREFIX = "/api"
MAX_BATCH = 1000
DEFAULT_PAGE = 100
MAX_PAGE = 1000

_ERRORS = {
    400: "Malformed request: JSON syntax, encoding, or a bad query parameter",
    401: "Missing or wrong API key",
    404: "No customer with this external id",
    409: "Conflict: the email belongs to another customer, or the given version is stale",
    412: "If-Match does not match the current preferences version",
    413: "Request body too large",
    415: "The body is not JSON (send Content-Type: application/json)",
    422: "The JSON is well-formed but a field is invalid; `fields` names each one",
    503: "The API is disabled (no NEWSLETTER_API_KEYS), or the database is busy",
}


@dataclass(frozen=True)
class Operation:
    """One method on one path (relative to ``PREFIX``)."""

    method: str
    path: str
    operation_id: str
    summary: str
    description: str = ""
    request: str | None = None  # component schema of the JSON body
    ok: tuple[int, str, str | None] = (200, "OK", None)  # status, description, component schema
    errors: tuple[int, ...] = ()
    parameters: tuple[str, ...] = ()  # component parameters
    secured: bool = True
    extra: Mapping[int, tuple[str, str | None]] = field(default_factory=dict)


_CUSTOMER = "/customers/{external_id}"
OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/openapi.json", "getOpenApi", "This OpenAPI document", secured=False,
              ok=(200, "The OpenAPI 3.1 document", None)),
    Operation("PUT", _CUSTOMER, "upsertCustomer", "Create or update one customer by external id",
              "Fields left out (or null) keep their stored value; `attributes`, when given, replaces "
              "the whole set. `status` can withdraw consent (`unsubscribed`) but never grant it back: "
              "an unsubscribed customer stays unsubscribed. Writes consent events on channel `api`.",
              request="CustomerInput", ok=(200, "Updated or unchanged", "UpsertResult"),
              extra={201: ("Created", "UpsertResult")},
              errors=(400, 409, 413, 415, 422), parameters=("ExternalId",)),
    Operation("GET", _CUSTOMER, "getCustomer", "One customer with preferences and status",
              ok=(200, "The customer", "Customer"), errors=(404,), parameters=("ExternalId",)),
    Operation("POST", "/customers:batch", "upsertCustomers",
              f"Create or update up to {MAX_BATCH} customers in one transaction",
              "All or nothing: if any item is invalid or conflicts, nothing is written and the answer "
              "lists every bad item by index (`items`, and `fields` as `customers[i].field`).",
              request="BatchRequest", ok=(200, "Every item written", "BatchResult"),
              errors=(400, 409, 413, 415, 422)),
    Operation("GET", f"{_CUSTOMER}/preferences", "getPreferences", "A customer's preferences",
              "The `ETag` header carries the version, for `If-Match` on PATCH.",
              ok=(200, "The preferences", "Preferences"), errors=(404,), parameters=("ExternalId",)),
    Operation("PATCH", f"{_CUSTOMER}/preferences", "changePreferences", "Change a customer's preferences",
              "Only the fields given change; one consent event (channel `api`) per field that really "
              "changed. Optimistic concurrency: `If-Match: \"<version>\"` (412 when stale) or `version` "
              "in the body (409 when stale).",
              request="PreferencesPatch", ok=(200, "The preferences after the change", "PreferencesChange"),
              errors=(400, 404, 409, 412, 413, 415, 422), parameters=("ExternalId", "IfMatch")),
    Operation("POST", f"{_CUSTOMER}/unsubscribe", "unsubscribeCustomer", "Unsubscribe from everything",
              "Idempotent: `changed` is false when the customer was unsubscribed already. No body.",
              ok=(200, "Unsubscribed", "Unsubscribed"), errors=(404,), parameters=("ExternalId",)),
    Operation("GET", f"{_CUSTOMER}/consent-events", "listConsentEvents",
              "A customer's consent events, oldest first",
              "Paginated: pass the page's `next_after` as `after` for the next page (null: no more).",
              ok=(200, "One page of events", "ConsentEventPage"), errors=(400, 404),
              parameters=("ExternalId", "After", "Limit")),
)


def document(locales: tuple[str, ...], product_groups: Mapping[str, Any],
             attributes: Mapping[str, Attribute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for the API with this catalogue."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(PREFIX + operation.path, {})[operation.method.lower()] = _operation(operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Newsletter operator API",
            "version": "1.0.0",
            "description": "Customers are addressed by the CRM's external id. Authenticate with "
                           "`Authorization: Bearer <key>` (a key from NEWSLETTER_API_KEYS). Every error "
                           "is JSON: `{\"error\": \"...\", \"fields\": {\"field\": \"message\"}}`.",
        },
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A key from NEWSLETTER_API_KEYS"}},
            "parameters": _parameters(),
            "responses": {str(status): _json_response(text, "Error") for status, text in _ERRORS.items()},
            "schemas": _schemas(locales, product_groups, attributes),
        },
    }


def _operation(operation: Operation) -> dict[str, Any]:
    status, text, schema = operation.ok
    responses = {str(status): _json_response(text, schema) if schema else
                 {"description": text, "content": {"application/json": {"schema": {"type": "object"}}}}}
    for extra_status, (extra_text, extra_schema) in operation.extra.items():
        responses[str(extra_status)] = _json_response(extra_text, extra_schema)
    errors = operation.errors + ((401, 503) if operation.secured else ())
    for error in sorted(errors):
        responses[str(error)] = {"$ref": f"#/components/responses/{error}"}
    result: dict[str, Any] = {"operationId": operation.operation_id, "summary": operation.summary,
                              "responses": responses}
    if operation.description:
        result["description"] = operation.description
    if operation.parameters:
        result["parameters"] = [{"$ref": f"#/components/parameters/{name}"} for name in operation.parameters]
    if operation.request:
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(operation.request)}}}
    if not operation.secured:
        result["security"] = []
    return result


def _json_response(description: str, schema: str | None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _parameters() -> dict[str, Any]:
    return {
        "ExternalId": {"name": "external_id", "in": "path", "required": True,
                       "description": "The CRM's customer id",
                       "schema": {"type": "string", "minLength": 1, "maxLength": MAX_EXTERNAL_ID}},
        "IfMatch": {"name": "If-Match", "in": "header", "required": False,
                    "description": "The ETag of GET .../preferences, e.g. \"3\"",
                    "schema": {"type": "string"}},
        "After": {"name": "after", "in": "query", "required": False,
                  "description": "Only events with an id greater than this (the previous page's next_after)",
                  "schema": {"type": "integer", "minimum": 0}},
        "Limit": {"name": "limit", "in": "query", "required": False,
                  "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE}},
    }


def _attribute_schema(attribute: Attribute) -> dict[str, Any]:
    if attribute.type == "choice":
        return {"type": ["string", "null"], "enum": [*attribute.values, None]}
    if attribute.type == "number":
        schema: dict[str, Any] = {"type": ["number", "null"]}
        if attribute.min is not None:
            schema["minimum"] = attribute.min
        if attribute.max is not None:
            schema["maximum"] = attribute.max
        return schema
    if attribute.type == "flag":
        return {"type": ["boolean", "null"]}
    if attribute.type == "date":
        return {"type": ["string", "null"], "format": "date"}
    return {"type": ["string", "null"], "maxLength": MAX_TEXT_LENGTH}


def _schemas(locales: tuple[str, ...], product_groups: Mapping[str, Any],
             attributes: Mapping[str, Attribute]) -> dict[str, Any]:
    text_or_null = {"type": ["string", "null"]}
    date_time = {"type": "string", "format": "date-time"}
    groups = ", ".join(product_groups) or "none"
    customer_fields = {
        "email": {"type": "string", "format": "email", "maxLength": 320},
        "first_name": {"type": ["string", "null"], "maxLength": MAX_FIRST_NAME},
        "locale": {"type": ["string", "null"], "enum": [*locales, None]},
        "status": {"type": ["string", "null"], "enum": [*Status, None]},
        "attributes": _ref("Attributes"),
    }
    external_id = {"type": "string", "minLength": 1, "maxLength": MAX_EXTERNAL_ID}
    error_fields = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        "Attributes": {
            "type": "object", "additionalProperties": False,
            "description": "The attributes declared in content/audience.yaml; empty or null values are left out.",
            "properties": {name: _attribute_schema(attribute) for name, attribute in attributes.items()},
        },
        "CustomerInput": {
            "type": "object", "additionalProperties": False, "required": ["email"],
            "properties": {"external_id": {**external_id, "description": "Optional; must equal the one in the URL"},
                           **customer_fields},
        },
        "CustomerBatchItem": {
            "type": "object", "additionalProperties": False, "required": ["external_id", "email"],
            "properties": {"external_id": external_id, **customer_fields},
        },
        "BatchRequest": {
            "type": "object", "additionalProperties": False, "required": ["customers"],
            "properties": {"customers": {"type": "array", "maxItems": MAX_BATCH,
                                         "items": _ref("CustomerBatchItem")}},
        },
        "Preferences": {
            "type": "object",
            "required": ["frequency", "paused_until", "excluded_groups", "locale", "status", "version", "updated_at"],
            "properties": {
                "frequency": {"type": "string", "enum": list(Frequency)},
                "paused_until": {"type": ["string", "null"], "format": "date"},
                "excluded_groups": {"type": "array", "items": {"type": "string"},
                                    "description": f"Product group ids (now: {groups})"},
                "locale": {"type": "string"},
                "status": {"type": "string", "enum": list(Status)},
                "version": {"type": "integer", "minimum": 1},
                "updated_at": date_time,
            },
        },
        "PreferencesPatch": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "frequency": {"type": "string", "enum": list(Frequency)},
                "paused_until": {"type": ["string", "null"], "format": "date",
                                 "description": "Skip editions before this day (at most 12 months ahead); null ends a pause"},
                "excluded_groups": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                                    "description": f"The complete list of excluded product groups ({groups})"},
                "locale": {"type": "string", "enum": list(locales)},
                "version": {"type": "integer", "minimum": 1,
                            "description": "The version the change is based on (409 when stale)"},
            },
        },
        "PreferencesChange": {
            "type": "object", "required": ["preferences", "changed"],
            "properties": {"preferences": _ref("Preferences"),
                           "changed": {"type": "array", "items": {"type": "string"}}},
        },
        "Customer": {
            "type": "object",
            "required": ["external_id", "email", "first_name", "locale", "status", "attributes",
                         "created_at", "updated_at", "preferences"],
            "properties": {
                "external_id": external_id,
                "email": {"type": "string", "format": "email"},
                "first_name": text_or_null,
                "locale": {"type": "string"},
                "status": {"type": "string", "enum": list(Status)},
                "attributes": {"type": "object"},
                "created_at": date_time,
                "updated_at": date_time,
                "preferences": _ref("Preferences"),
            },
        },
        "UpsertResult": {
            "type": "object", "required": ["result", "customer"],
            "properties": {"result": {"type": "string", "enum": ["created", "updated", "unchanged"]},
                           "customer": _ref("Customer")},
        },
        "BatchResult": {
            "type": "object", "required": ["created", "updated", "unchanged", "results"],
            "properties": {
                "created": {"type": "integer"}, "updated": {"type": "integer"}, "unchanged": {"type": "integer"},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["index", "external_id", "result"],
                    "properties": {"index": {"type": "integer"}, "external_id": {"type": "string"},
                                   "result": {"type": "string", "enum": ["created", "updated", "unchanged"]}},
                }},
            },
        },
        "Unsubscribed": {
            "type": "object", "required": ["external_id", "status", "changed"],
            "properties": {"external_id": {"type": "string"}, "status": {"type": "string", "enum": list(Status)},
                           "changed": {"type": "boolean"}},
        },
        "ConsentEvent": {
            "type": "object", "required": ["id", "field", "old", "new", "channel", "at", "client_hash"],
            "properties": {
                "id": {"type": "integer"},
                "field": {"type": "string"},
                "old": {"description": "The value before (any JSON value; null when none)"},
                "new": {"description": "The value after (any JSON value)"},
                "channel": {"type": "string", "enum": list(Channel)},
                "at": date_time,
                "client_hash": {**text_or_null, "description": "sha256 of IP and user agent, for page changes"},
            },
        },
        "ConsentEventPage": {
            "type": "object", "required": ["events", "next_after"],
            "properties": {"events": {"type": "array", "items": _ref("ConsentEvent")},
                           "next_after": {"type": ["integer", "null"]}},
        },
        "Error": {
            "type": "object", "required": ["error", "fields"],
            "properties": {
                "error": {"type": "string"},
                "fields": {**error_fields, "description": "Bad field -> message"},
                "items": {"type": "array", "description": "Batch only: every bad item", "items": {
                    "type": "object", "required": ["index", "fields"],
                    "properties": {"index": {"type": "integer"}, "external_id": text_or_null,
                                   "fields": error_fields},
                }},
            },
        },
    }
