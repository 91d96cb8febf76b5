"""Reading the operator API's requests: JSON bodies, ids, query parameters, versions; every
client mistake becomes an ApiError (a 4xx JSON answer), never a traceback."""

from __future__ import annotations

import json
from typing import Any, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse

from preferences.customers import MAX_EXTERNAL_ID, parse_customer
from preferences.errors import InvalidInput, UnknownCustomer
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
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, f"bad query parameter {name}", {name: f"expected a whole number from {low} to {high}"})
    return int(raw)


def expected_version(if_match: str | None, body: dict[str, Any]) -> int | None:
    """The version a PATCH is based on, from If-Match or the body's ``version`` (removed from it)."""
    version = body.pop("version", None)
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise ApiError(422, "invalid input", {"version": "expected a whole number from 1"})
    if if_match is None:
        return version
    tag = if_match.strip()
    if tag == "*":
        return version
    if "," in tag:
        raise ApiError(400, "If-Match: give one ETag", {"If-Match": "give one ETag"})
    tag = tag.removeprefix("W/").strip('"')
    # An ETag this server never made matches no version: answered as stale (412).
    header_version = int(tag) if tag.isascii() and tag.isdigit() and len(tag) < 18 else 0
    if version is not None and version != header_version:
        raise ApiError(400, "If-Match and version disagree", {"version": "differs from If-Match"})
    return header_version


ITEM = "item"  # the field name of a batch item that is not an object at all


def parse_batch(items: list[Any], catalogue: Catalogue) -> tuple[list, dict[int, dict[str, str]]]:
    parsed, bad = [], {}
    ids: dict[str, int] = {}
    emails: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            bad[index] = {ITEM: f"expected a customer object, got {json_kind(item)}"}
            continue
        try:
            data = parse_customer(item, schema=catalogue.attributes, locales=catalogue.locales)
        except InvalidInput as error:
            bad[index] = error.errors
            continue
        for seen, key, name in ((ids, data.external_id, "external_id"), (emails, data.email.lower(), "email")):
            if key in seen:
                bad.setdefault(index, {})[name] = f"the same {name.replace('_', ' ')} as item {seen[key]}"
            else:
                seen[key] = index
        parsed.append(data)
    return parsed, bad


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
