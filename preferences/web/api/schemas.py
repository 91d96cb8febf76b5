"""The component schemas and parameters of the operator API's OpenAPI document."""

from __future__ import annotations

from typing import Any, Mapping

from preferences.attributes import MAX_TEXT_LENGTH, Attribute
from preferences.customers import MAX_EXTERNAL_ID, MAX_FIRST_NAME
from preferences.models import Channel, Frequency, Status

MAX_BATCH = 1000
DEFAULT_PAGE = 100
MAX_PAGE = 1000


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def parameters() -> dict[str, Any]:
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


def schemas(locales: tuple[str, ...], product_groups: Mapping[str, Any],
             attributes: Mapping[str, Attribute]) -> dict[str, Any]:
    text_or_null = {"type": ["string", "null"]}
    date_time = {"type": "string", "format": "date-time"}
    groups = ", ".join(product_groups) or "none"
    customer_fields = {
        "email": {"type": "string", "format": "email", "maxLength": 320},
        "first_name": {"type": ["string", "null"], "maxLength": MAX_FIRST_NAME},
        "locale": {"type": ["string", "null"], "enum": [*locales, None]},
        "status": {"type": ["string", "null"], "enum": [*Status, None]},
        "attributes": ref("Attributes"),
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
                                         "items": ref("CustomerBatchItem")}},
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
                "status": {"type": "string", "enum": list(Status)},
                "attributes": {"type": "object"},
                "created_at": date_time,
                "updated_at": date_time,
                "preferences": ref("Preferences"),
            },
        },
        "UpsertResult": {
            "type": "object", "required": ["result", "customer"],
            "properties": {"result": {"type": "string", "enum": ["created", "updated", "unchanged"]},
                           "customer": ref("Customer")},
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
