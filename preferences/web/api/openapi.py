"""The operator API's OpenAPI 3.1 description, built from one table of operations.

``OPERATIONS`` is the single list of what the API offers: ``preferences.web.api.routes`` builds its routes
from it, and ``document`` turns it into the schema served at ``/api/openapi.json``. Attribute,
locale and product-group schemas come from the catalogue of the moment, so the document always
describes what the server accepts now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from preferences.attributes import Attribute
from preferences.web.api.bodies import MAX_BATCH
from preferences.web.api.schemas import parameters, ref, schemas

PREFIX = "/api"

_ERRORS = {
    400: "Malformed request: JSON syntax, encoding, or a bad query parameter",
    401: "Missing or wrong API key",
    404: "No customer with this external id, or no suppression with this id (or no route: a path no "
         "id can make, e.g. with a line break)",
    409: "Conflict: the email belongs to another customer, or the given version is stale",
    412: "If-Match does not match the current preferences version",
    413: "Request body too large",
    415: "The body is not JSON (send Content-Type: application/json)",
    422: "The JSON is well-formed but a field is invalid; `fields` names each one",
    428: "No precondition: send If-Match (the ETag of GET .../preferences) or `version` in the body",
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
    ok: tuple[int, str, str | None] = (200, "OK", None)  # status, description, component schema (204: none)
    errors: tuple[int, ...] = ()
    parameters: tuple[str, ...] = ()  # component parameters
    secured: bool = True
    extra: Mapping[int, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def query_names(self) -> frozenset[str]:
        """The query parameters it takes (any other is refused)."""
        return self.query_names_in(parameters())

    def query_names_in(self, declared: Mapping[str, Any]) -> frozenset[str]:
        return frozenset(declared[name]["name"] for name in self.parameters if declared[name]["in"] == "query")


@dataclass(frozen=True)
class Extension:
    """Operations that the app composing the API serves under ``PREFIX`` beside these (e.g. the
    results of the sends): routed, secured and described in the same document, with their own
    component parameters and schemas, and a handler per operation id."""

    operations: tuple[Operation, ...]
    handlers: Mapping[str, Any]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    schemas: Mapping[str, Any] = field(default_factory=dict)


_CUSTOMER = "/customers/{external_id}"
OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/openapi.json", "getOpenApi", "This OpenAPI document", secured=False,
              ok=(200, "The OpenAPI 3.1 document", None)),
    Operation("PUT", _CUSTOMER, "upsertCustomer", "Create or update one customer by external id",
              "Fields left out (or null) keep their stored value; `attributes`, when given, replaces "
              "the whole set. `status` can withdraw consent (`unsubscribed`) but never grant it back: "
              "an unsubscribed customer stays unsubscribed, listed in `kept`. A language the customer "
              "chose on the preference page is kept too, unless `overwrite_preferences=true`. Writes "
              "consent events on channel `api`.",
              request="CustomerInput", ok=(200, "Updated or unchanged", "UpsertResult"),
              extra={201: ("Created", "UpsertResult")},
              errors=(400, 409, 413, 415, 422), parameters=("ExternalId", "OverwritePreferences")),
    Operation("GET", _CUSTOMER, "getCustomer", "One customer with preferences and status",
              ok=(200, "The customer", "Customer"), errors=(404,), parameters=("ExternalId",)),
    Operation("POST", "/customers:batch", "upsertCustomers",
              f"Create or update up to {MAX_BATCH} customers in one transaction",
              "All or nothing: if any item is invalid or conflicts, nothing is written and the answer "
              "lists every bad item by index (`items`, and `fields` as `customers[i].field`).",
              request="BatchRequest", ok=(200, "Every item written", "BatchResult"),
              errors=(400, 409, 413, 415, 422), parameters=("OverwritePreferences",)),
    Operation("GET", f"{_CUSTOMER}/preferences", "getPreferences", "A customer's preferences",
              "The `ETag` header carries the version, for `If-Match` on PATCH.",
              ok=(200, "The preferences", "Preferences"), errors=(404,), parameters=("ExternalId",)),
    Operation("PATCH", f"{_CUSTOMER}/preferences", "changePreferences", "Change a customer's preferences",
              "Only the fields given change; one consent event (channel `api`) per field that really "
              "changed. Optimistic concurrency is required, so that a change never silently undoes one the "
              "customer made on the preference page: `If-Match: \"<version>\"` (412 when stale) or "
              "`version` in the body (409 when stale); with neither, 428 (`If-Match: *` is the explicit \"change "
              "whatever is there\").",
              request="PreferencesPatch", ok=(200, "The preferences after the change", "PreferencesChange"),
              errors=(400, 404, 409, 412, 413, 415, 422, 428), parameters=("ExternalId", "IfMatch")),
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
             attributes: Mapping[str, Attribute], extensions: tuple[Extension, ...] = ()) -> dict[str, Any]:
    """The OpenAPI 3.1 document for the API with this catalogue (and the extensions' operations)."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in (*OPERATIONS, *(o for extension in extensions for o in extension.operations)):
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
            "parameters": {**parameters(), **{k: v for e in extensions for k, v in e.parameters.items()}},
            "responses": {str(status): _json_response(text, "Error") for status, text in _ERRORS.items()},
            "schemas": {**schemas(locales, product_groups, attributes),
                        **{k: v for e in extensions for k, v in e.schemas.items()}},
        },
    }


def _operation(operation: Operation) -> dict[str, Any]:
    status, text, schema = operation.ok
    if status == 204:  # No Content: a description only
        responses: dict[str, Any] = {"204": {"description": text}}
    else:
        responses = {str(status): _json_response(text, schema) if schema else
                     {"description": text, "content": {"application/json": {"schema": {"type": "object"}}}}}
    for extra_status, (extra_text, extra_schema) in operation.extra.items():
        responses[str(extra_status)] = _json_response(extra_text, extra_schema)
    # 404 on every path with an id: the router answers it for an id no route can match.
    errors = tuple({*operation.errors, *((401, 503) if operation.secured else ()),
                    *((404,) if "{" in operation.path else ())})
    for error in sorted(errors):
        responses[str(error)] = {"$ref": f"#/components/responses/{error}"}
    result: dict[str, Any] = {"operationId": operation.operation_id, "summary": operation.summary,
                              "responses": responses}
    if operation.description:
        result["description"] = operation.description
    if operation.parameters:
        result["parameters"] = [{"$ref": f"#/components/parameters/{name}"} for name in operation.parameters]
    if operation.request:
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(operation.request)}}}
    if not operation.secured:
        result["security"] = []
    return result


def _json_response(description: str, schema: str | None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}
