"""The operator API's request bodies as pydantic models: the one declaration of their shape, types
and limits, from which ``preferences.web.api.schemas`` generates the OpenAPI component schemas.

The models are strict (a JSON value of the wrong type is refused, never coerced) and refuse unknown
fields. They check what does not depend on the content: what does (locales, product groups,
attribute values) is marked with ``CATALOGUE`` for the schema and checked by the domain
(``preferences.customers.parse_customer``, ``preferences.changes.validate_changes``), which also
checks meaning: email syntax, attribute rules, a pause in the past.

``invalid_fields`` turns a model's ValidationError into ``{path: message}``, each path the place of
the bad value in the body (``("customers", 3, "email")``).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Mapping

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, RootModel, StringConstraints, TypeAdapter,
                      ValidationError)

from preferences.changes import MAX_PAUSE_MONTHS
from preferences.customers import MAX_EXTERNAL_ID, MAX_FIRST_NAME
from preferences.models import Frequency, Status

MAX_BATCH = 1000
MAX_EMAIL = 320  # the width of the email column
ETAG = r'^(\*|(W/)?"[0-9]+")$'  # "*" or one ETag as the server sends it ("3"), maybe weak (W/"3")

# The key of a schema property filled from the catalogue of the moment: "locales" (an enum of the
# locales) or "product_groups" (the group ids, listed in the description).
CATALOGUE = "x-catalogue"

ExternalIdText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_EXTERNAL_ID)]
IfMatch = Annotated[str, StringConstraints(pattern=ETAG)]


def _whole_number(value: Any) -> Any:
    # JSON Schema's "integer" is any number without a fraction: 2.0 is one, as the schema says.
    return int(value) if isinstance(value, float) and value.is_integer() else value


Integer = Annotated[int, BeforeValidator(_whole_number)]
Path = tuple[str | int, ...]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _optional(description: str | None = None, **extra: Any) -> Any:
    """A field that may be left out but is never null: pydantic needs a default (None) to make it
    optional, which the schema must not advertise as a valid value."""
    def finish(schema: dict[str, Any]) -> None:
        _no_default(schema)
        schema.update(extra)
    return Field(None, description=description, json_schema_extra=finish)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Attributes(RootModel[dict[str, Any]]):
    """The customer's attributes; ``preferences.web.api.schemas`` replaces this schema with the one
    of the catalogue's attributes, and the domain checks each value against them."""

    model_config = ConfigDict(strict=True)


class _CustomerFields(_Strict):
    email: Annotated[str, Field(max_length=MAX_EMAIL, json_schema_extra={"format": "email"})]
    first_name: Annotated[str, Field(max_length=MAX_FIRST_NAME)] | None = Field(None, description="No line breaks")
    locale: str | None = Field(None, json_schema_extra={CATALOGUE: "locales"})
    status: Status | None = Field(None, description="`unsubscribed` withdraws consent; nothing grants it back")
    attributes: Attributes | None = Field(None, description="Replaces the whole set when given")


class CustomerInput(_CustomerFields):
    """The body of PUT /customers/{external_id}. Fields left out or null keep their stored value."""

    external_id: ExternalIdText | Integer = _optional("Optional; must equal the one in the URL")


class CustomerBatchItem(_CustomerFields):
    """One customer of POST /customers:batch; fields left out or null keep their stored value."""

    # CRMs often number their customers: a number is taken as its decimal text.
    external_id: ExternalIdText | Integer


class BatchRequest(_Strict):
    """The body of POST /customers:batch."""

    customers: list[CustomerBatchItem] = Field(max_length=MAX_BATCH)


class PreferencesPatch(_Strict):
    """The body of PATCH /customers/{external_id}/preferences: only the fields given change."""

    frequency: Frequency = _optional()
    paused_until: date | None = Field(
        None, description=f"Skip editions before this day: today or later, at most {MAX_PAUSE_MONTHS} "
                          "months ahead (a pause already stored may be sent again); null ends a pause")
    excluded_groups: list[str] = _optional("The complete list of excluded product group ids; "
                                           "duplicates count once", **{CATALOGUE: "product_groups"})
    locale: str = _optional(**{CATALOGUE: "locales"})
    click_tracking: bool = _optional("false: the customer's clicks are not measured (the links of their "
                                     "emails are sent untracked); true: they are (the default)")
    # The bound before the validator: after it, pydantic writes it into the schema as "ge", not "minimum".
    version: Annotated[int, Field(ge=1), BeforeValidator(_whole_number)] | None = Field(
        None, description="The version the change is based on (409 when stale); or If-Match")


REQUESTS = (CustomerInput, BatchRequest, PreferencesPatch)


def parameter_schema(annotation: Any) -> dict[str, Any]:
    """The JSON schema of a path or header parameter declared here (``ExternalIdText``, ``IfMatch``)."""
    return TypeAdapter(annotation).json_schema()


def invalid_fields(model: type[BaseModel], body: Mapping[str, Any]) -> dict[Path, str]:
    """Every value of ``body`` that ``model`` refuses, by its path in ``body``; empty when valid."""
    try:
        # Validated as JSON: strict JSON mode takes a date as its ISO text and an enum as its value.
        model.model_validate_json(json.dumps(body))
    except ValidationError as error:
        found: dict[Path, list[str]] = {}
        for problem in error.errors(include_url=False):
            message = "unknown field" if problem["type"] == "extra_forbidden" else problem["msg"]
            messages = found.setdefault(_path(problem["loc"], body, problem["type"]), [])
            if message not in messages:
                messages.append(message)
        return {path: "; ".join(messages) for path, messages in found.items()}
    return {}


def _path(loc: tuple[str | int, ...], body: Any, kind: str) -> Path:
    # The loc of an error in a union names the union's member ("external_id", "int"): keep only
    # the steps that lead to a value in the body, plus the name of a missing field.
    path: list[str | int] = []
    value = body
    for step in loc:
        if isinstance(value, Mapping) and step in value:
            value = value[step]
        elif isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
            value = value[step]
        elif kind == "missing" and isinstance(value, Mapping):
            path.append(step)
            break
        else:
            break
        path.append(step)
    return tuple(path)


def by_field(paths: Mapping[Path, str], depth: int = 1) -> dict[str, str]:
    """The problems of ``paths`` by field, a field being the first ``depth`` steps of a path; a
    problem deeper down tells where in its message: ``("excluded_groups", 1)`` becomes
    ``{"excluded_groups": "[1]: Input should be a valid string"}``."""
    named: dict[str, list[str]] = {}
    for path, message in paths.items():
        where = field_name(path[depth:]) if len(path) > depth else ""
        named.setdefault(field_name(path[:depth]), []).append(f"{where}: {message}" if where else message)
    return {name: "; ".join(messages) for name, messages in named.items()}


def field_name(path: Path) -> str:
    """``("customers", 3, "email")`` as ``customers[3].email``, the way the API names fields
    (empty for the body itself)."""
    name = ""
    for step in path:
        name += f"[{step}]" if isinstance(step, int) else (f".{step}" if name else step)
    return name
