"""Reading the operator API's requests: JSON bodies, ids, query parameters, versions; every
client mistake becomes an ApiError (a 4xx JSON answer), never a traceback.

A body is checked by its model (``preferences.web.api.bodies``) first, then what the model let
through by the domain, and the problems of both are answered together."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ContextManager, Iterable, Iterator, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse

from preferences.customers import MAX_EXTERNAL_ID, CustomerData, parse_customer
from preferences.errors import InvalidInput, UnknownCustomer
from preferences.web.api.bodies import (ETAG, BatchRequest, CustomerInput, Path, PreferencesPatch, by_field,
                                         invalid_fields)
from preferences.web.centre import Catalogue


class ApiError(Exception):
    """A client mistake, answered as ``{"error": message, "fields": {...}}`` with ``status``."""

    def __init__(self, status: int, message: str, fields: Mapping[str, str] | None = None, *,
                 headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.fields, self.headers, self.extra = dict(fields or {}), dict(headers or {}), extra

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message, "fields": self.fields, **self.extra},
                            status_code=self.status, headers=self.headers)


async def json_object(request: Request, limit: int) -> dict[str, Any]:
    """The request body as a JSON object, or ApiError 415/413/400/422."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise ApiError(415, "send the body as JSON with Content-Type: application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise ApiError(400, "the body is empty: send a JSON object")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed JSON: the body is not UTF-8 text") from None
    except (ValueError, RecursionError) as error:
        raise ApiError(400, f"malformed JSON: {error}") from None
    try:
        # An escaped lone surrogate ("\ud800") is valid JSON but no text: it cannot be stored.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "malformed JSON: a string holds an unpaired surrogate escape") from None
    if not isinstance(value, dict):
        raise ApiError(422, "invalid input", {"body": f"expected a JSON object, got {json_kind(value)}"})
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def path_id(request: Request) -> str:
    """The external id from the URL; one that no customer can have is simply not found."""
    external_id = request.path_params["external_id"]
    if len(external_id) > MAX_EXTERNAL_ID or any(ord(c) < 32 for c in external_id):
        raise UnknownCustomer("no such customer")
    return external_id


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, f"bad query parameter {name}", {name: f"expected a whole number from {low} to {high}"})
    return int(raw)


def bool_param(request: Request, name: str) -> bool:
    """A yes/no query parameter: ``true`` or ``false`` exactly (absent: false); 400 otherwise."""
    raw = request.query_params.get(name)
    if raw is None or raw == "false":
        return False
    if raw == "true":
        return True
    raise ApiError(400, f"bad query parameter {name}", {name: "expected true or false"})


def expected_version(if_match: str | None, version: int | None) -> int | None:
    """The version a PATCH is based on: from If-Match, else the body's (checked) ``version``.

    One of them is required (428): an operator's change must not silently undo one the customer
    made on the preference page a moment before (last writer wins is how choices get lost).
    ``If-Match: *`` is the explicit way to change whatever is there (None)."""
    if if_match is None:
        if version is None:
            raise ApiError(428, "send If-Match with the ETag of GET .../preferences, or the version in the body",
                           {"If-Match": "required (or version in the body)"})
        return version
    tag = if_match.strip()
    if "," in tag:
        raise ApiError(400, "If-Match: give one ETag", {"If-Match": "give one ETag"})
    if not re.fullmatch(ETAG, tag):
        raise ApiError(400, 'If-Match: not an ETag; send it as GET .../preferences gave it, e.g. "3"',
                       {"If-Match": 'expected one ETag such as "3"'})
    if tag == "*":
        return version  # the operator's explicit "whatever is there now" (RFC 9110); None: any
    # A well-formed ETag this server never made matches no version: answered as stale (412).
    digits = tag.removeprefix("W/").strip('"')
    header_version = int(digits) if len(digits) < 18 else 0
    if version is not None and version != header_version:
        raise ApiError(400, "If-Match and version disagree", {"version": "differs from If-Match"})
    return header_version


def customer_input(body: Mapping[str, Any], external_id: str, catalogue: Catalogue) -> CustomerData:
    """The body of PUT /customers/{external_id}, checked by its model and then by the domain."""
    paths = {**_unlisted_locale(body, catalogue), **invalid_fields(CustomerInput, body)}
    problems = by_field(paths)
    if "external_id" in body and "external_id" not in problems and str(body["external_id"]).strip() != external_id.strip():
        problems["external_id"] = "differs from the external id in the URL"
    with all_reported(problems):
        return parse_customer({**_without(body, paths), "external_id": external_id},
                              schema=catalogue.attributes, locales=catalogue.locales)


def _unlisted_locale(body: Any, catalogue: Catalogue) -> dict[Path, str]:
    # parse_customer also takes a blank locale or one with spaces around it, as a CSV file holds
    # them; the API takes exactly what its schema lists.
    locale = body.get("locale") if isinstance(body, dict) else None
    if locale is None or locale in catalogue.locales:
        return {}
    return {("locale",): f"{locale!r} is not one of {', '.join(catalogue.locales)}"}


@dataclass(frozen=True)
class PatchBody:
    """The body of PATCH .../preferences checked by its model: ``changes`` holds the fields it let
    through (for the domain to check), ``problems`` what it refused."""

    changes: dict[str, Any]
    version: int | None
    problems: dict[str, str]

    @classmethod
    def of(cls, body: Mapping[str, Any], catalogue: Catalogue) -> "PatchBody":
        # The locale checked before the version: a locale the schema does not list is a 422 even
        # when the version is stale.
        paths = {**_unlisted_locale(body, catalogue), **invalid_fields(PreferencesPatch, body)}
        changes = _without(body, paths)
        version = changes.pop("version", None)
        return cls(changes, version, by_field(paths))

    def reported(self) -> ContextManager[None]:
        return all_reported(self.problems)


@contextmanager
def all_reported(problems: Mapping[str, str]) -> Iterator[None]:
    """Runs the domain's check of what a model let through; with ``problems`` from the model,
    answers the problems of both at once (422), so a client learns every bad field in one go."""
    try:
        yield
    except InvalidInput as invalid:
        if not problems:
            raise
        raise ApiError(422, "invalid input", {**invalid.errors, **problems}) from None
    if problems:
        raise ApiError(422, "invalid input", dict(problems))


def _without(value: Mapping[str, Any], paths: Iterable[Path], depth: int = 0) -> dict[str, Any]:
    # The fields holding a value the model refused: the domain is not built for every JSON type.
    bad = {path[depth] for path in paths if len(path) > depth}
    return {name: item for name, item in value.items() if name not in bad}


ITEM = "item"  # the field name of a batch item that is not an object at all


def parse_batch(body: Mapping[str, Any], catalogue: Catalogue) -> tuple[list[Any], list[CustomerData]]:
    """The customers of a POST /customers:batch body and their checked data; every bad item
    (model or domain) is named in one ApiError (422, see ``batch_error``)."""
    paths = invalid_fields(BatchRequest, body)
    if any(len(path) < 2 for path in paths):
        raise ApiError(422, "invalid input", by_field(paths))
    items: list[Any] = body["customers"]
    for index, item in enumerate(items):
        for path, message in _unlisted_locale(item, catalogue).items():
            paths.setdefault(("customers", index, *path), message)
    bad: dict[int, dict[str, str]] = {}
    for index in {path[1] for path in paths}:
        problems = by_field({path[2:]: message for path, message in paths.items() if path[1] == index})
        bad[index] = {name or ITEM: message for name, message in problems.items()}  # type: ignore[index]
    parsed: list[CustomerData] = []
    ids: dict[str, int] = {}
    emails: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue  # the model named it
        refused = bad.get(index, {})
        try:
            data = parse_customer(_without(item, [path for path in paths if path[1] == index], depth=2),
                                  schema=catalogue.attributes, locales=catalogue.locales)
        except InvalidInput as error:
            bad[index] = {**error.errors, **refused}
            continue
        if refused:
            continue
        for seen, key, name in ((ids, data.external_id, "external_id"), (emails, data.email.lower(), "email")):
            if key in seen:
                bad.setdefault(index, {})[name] = f"the same {name.replace('_', ' ')} as item {seen[key]}"
            else:
                seen[key] = index
        parsed.append(data)
    if bad:
        raise batch_error(bad, items, "invalid")
    return items, parsed


def batch_error(bad: Mapping[int, Mapping[str, str]], items: list[Any], what: str, status: int = 422) -> ApiError:
    fields = {f"customers[{index}]" + (f".{name}" if name != ITEM else ""): message
              for index, errors in sorted(bad.items()) for name, message in errors.items()}
    listed = [{"index": index, "external_id": item_id(items[index]), "fields": dict(errors)}
              for index, errors in sorted(bad.items())]
    return ApiError(status, f"{len(bad)} of {len(items)} customers are {what}; nothing was written",
                    fields, items=listed)


def item_id(item: Any) -> str | None:
    value = item.get("external_id") if isinstance(item, dict) else None
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
