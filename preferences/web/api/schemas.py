"""The component schemas and parameters of the operator API's OpenAPI document.

The request bodies' schemas are generated from their models (``preferences.web.api.bodies``), the
parts that depend on the catalogue of the moment filled in per document; the answers' schemas are
written here.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Mapping

from pydantic.json_schema import models_json_schema

from preferences.attributes import MAX_TEXT_LENGTH, Attribute
from preferences.models import Channel
from preferences.web.api.bodies import CATALOGUE, REQUESTS, ExternalIdText, IfMatch, parameter_schema

__all__ = ["DEFAULT_PAGE", "MAX_PAGE", "parameters", "ref", "schemas"]

DEFAULT_PAGE = 100
MAX_PAGE = 1000
REF = "#/components/schemas/{model}"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def parameters() -> dict[str, Any]:
    return {
        "ExternalId": {"name": "external_id", "in": "path", "required": True,
                       "description": "The CRM's customer id",
                       "schema": parameter_schema(ExternalIdText)},
        "IfMatch": {"name": "If-Match", "in": "header", "required": False,
                    "description": "The ETag of GET .../preferences, e.g. \"3\" (or W/\"3\"): one ETag; a list or "
                                   "anything else is refused (400); one this server did not make matches no version "
                                   "(412); * changes whatever is there. Without If-Match and without version in the body: 428",
                    "schema": parameter_schema(IfMatch)},
        "After": {"name": "after", "in": "query", "required": False,
                  "description": "Only events with an id greater than this (the previous page's next_after)",
                  "schema": {"type": "integer", "minimum": 0}, "allowEmptyValue": False},
        "OverwritePreferences": {
            "name": "overwrite_preferences", "in": "query", "required": False, "allowEmptyValue": False,
            "description": "true: replace a choice the customer made on the preference page (the language) "
                           "with the request's value; by default it is kept and listed in `kept`",
            "schema": {"type": "string", "enum": ["true", "false"], "default": "false"}},
        "Limit": {"name": "limit", "in": "query", "required": False, "allowEmptyValue": False,
                  "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE}},
    }


@cache
def _requests() -> dict[str, Any]:
    # The models do not change at run time: generated once, copied per document.
    _, top = models_json_schema([(model, "validation") for model in REQUESTS], ref_template=REF)
    return top["$defs"]


def _with_catalogue(schema: Any, locales: tuple[str, ...], groups: str) -> Any:
    """``schema`` with every property marked ``CATALOGUE`` filled from the catalogue."""
    if isinstance(schema, list):
        return [_with_catalogue(item, locales, groups) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {name: _with_catalogue(value, locales, groups) for name, value in schema.items()}
    kind = schema.pop(CATALOGUE, None)
    if kind == "locales":
        nullable = {"type": "null"} in schema.get("anyOf", ())
        schema["enum"] = [*locales, None] if nullable else list(locales)
    elif kind == "product_groups":
        schema["description"] = f"{schema.get('description', '')} (now: {groups})".lstrip()
    return schema


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


def schemas(locales: tuple[str, ...], product_groups: Mapping[str, Any],
             attributes: Mapping[str, Attribute]) -> dict[str, Any]:
    text_or_null = {"type": ["string", "null"]}
    date_time = {"type": "string", "format": "date-time"}
    groups = ", ".join(product_groups) or "none"
    requests = _with_catalogue(_requests(), locales, groups)  # a new tree: the cached one stays as it is
    external_id = parameter_schema(ExternalIdText)
    error_fields = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        **requests,
        "Attributes": {
            "type": "object", "additionalProperties": False,
            "description": "The attributes declared in content/audience.yaml; empty or null values are left out. "
                           "Like a CSV import, the API also takes a number or flag as text (\"4\", \"yes\") "
                           "a choice in another case, and empty text as no value.",
            "properties": {name: _attribute_schema(attribute) for name, attribute in attributes.items()},
        },
        "Preferences": {
            "type": "object",
            "required": ["frequency", "paused_until", "excluded_groups", "locale", "status", "click_tracking",
                         "version", "updated_at"],
            "properties": {
                "frequency": ref("Frequency"),
                "paused_until": {"type": ["string", "null"], "format": "date"},
                "excluded_groups": {"type": "array", "items": {"type": "string"},
                                    "description": f"Product group ids (now: {groups})"},
                "locale": {"type": "string"},
                "status": ref("Status"),
                "click_tracking": {"type": "boolean",
                                   "description": "false: the customer asked not to have their clicks measured"},
                "version": {"type": "integer", "minimum": 1},
                "updated_at": date_time,
            },
        },
        "PreferencesChange": {
            "type": "object", "required": ["preferences", "changed"],
            "properties": {"preferences": ref("Preferences"),
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
                "status": ref("Status"),
                "attributes": {"type": "object"},
                "created_at": date_time,
                "updated_at": date_time,
                "preferences": ref("Preferences"),
            },
        },
        "Kept": {
            "type": "object", "additionalProperties": {"type": "string"},
            "description": "Fields the request gave another value that were kept, with why: a choice the "
                           "customer made on the preference page (unless overwrite_preferences=true), or "
                           "status, which only the customer can turn back from unsubscribed",
        },
        "Confirmation": {
            "type": "string", "description": "Only for a customer the request created as pending: the double "
                                             "opt-in mail with the confirm link is `queued` in the outbox (sent "
                                             "within seconds; a relay outage delays it, never loses it)",
            "enum": ["queued"]},
        "UpsertResult": {
            "type": "object", "required": ["result", "kept", "customer"],
            "properties": {"result": {"type": "string", "enum": ["created", "updated", "unchanged"]},
                           "kept": ref("Kept"), "customer": ref("Customer"), "confirmation": ref("Confirmation")},
        },
        "BatchResult": {
            "type": "object", "required": ["created", "updated", "unchanged", "results"],
            "properties": {
                "created": {"type": "integer"}, "updated": {"type": "integer"}, "unchanged": {"type": "integer"},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["index", "external_id", "result", "kept"],
                    "properties": {"index": {"type": "integer"}, "external_id": {"type": "string"},
                                   "result": {"type": "string", "enum": ["created", "updated", "unchanged"]},
                                   "kept": ref("Kept"), "confirmation": ref("Confirmation")},
                }},
            },
        },
        "Unsubscribed": {
            "type": "object", "required": ["external_id", "status", "changed"],
            "properties": {"external_id": {"type": "string"}, "status": ref("Status"),
                           "changed": {"type": "boolean"}},
        },
        "ConsentEvent": {
            "type": "object", "required": ["id", "field", "old", "new", "channel", "at", "client_hash", "actor"],
            "properties": {
                "id": {"type": "integer"},
                "field": {"type": "string"},
                "old": {"description": "The value before (any JSON value; null when none)"},
                "new": {"description": "The value after (any JSON value)"},
                "channel": {"type": "string", "enum": list(Channel)},
                "at": date_time,
                "client_hash": {**text_or_null, "description": "sha256 of IP and user agent, for page changes"},
                "actor": {**text_or_null, "description": "the name of the API key that made an API change"},
            },
        },
        "ConsentEventPage": {
            "type": "object", "required": ["events", "next_after"],
            "properties": {"events": {"type": "array", "items": ref("ConsentEvent")},
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
