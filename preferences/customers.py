"""Customer data as it comes from the CRM (API or CSV import), checked before anything is written.

``parse_customer`` turns a raw mapping into a ``CustomerData`` or raises InvalidCustomer naming
every bad field (attribute errors as ``attributes.<name>``). The store only takes CustomerData,
so the import can check a whole file (``--dry-run``) without touching the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Mapping

from email_validator import EmailNotValidError, validate_email

from preferences.attributes import Attribute, validate_attributes
from preferences.errors import InvalidAttributes, InvalidCustomer
from preferences.models import Status

FIELDS = ("external_id", "email", "first_name", "locale", "status", "attributes")
MAX_EXTERNAL_ID = 128
MAX_FIRST_NAME = 100


@dataclass(frozen=True)
class CustomerData:
    """Checked customer data. For every field but the two ids, None means "not given": a new
    customer gets the default, an existing one keeps what it has."""

    external_id: str
    email: str
    first_name: str | None = None
    locale: str | None = None
    status: Status | None = None
    attributes: dict[str, Any] | None = field(default=None, hash=False)


def normalise_email(value: object) -> str:
    """The address checked for syntax (no network) with its domain lowercased, in ASCII.

    Raises ValueError with a readable message. The local part keeps its case: it may matter to
    the receiving server; uniqueness ignores case (see the index on Customer.email). An
    internationalised domain is stored in its ASCII (IDNA) form; a non-ASCII local part is
    refused, since it needs SMTPUTF8 from every relay on the way.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("an email address is required")
    try:
        return validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False).ascii_email
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None


def parse_customer(
    raw: Mapping[str, Any], *, schema: Mapping[str, Attribute], locales: Collection[str]
) -> CustomerData:
    """``raw`` checked and normalised; ``locales`` are the allowed locales. Raises InvalidCustomer."""
    errors: dict[str, str] = {}
    for name in raw:
        if name not in FIELDS:
            errors[str(name)] = f"unknown field (known: {', '.join(FIELDS)})"

    external_id = _external_id(raw.get("external_id"), errors)
    try:
        email = normalise_email(raw.get("email"))
    except ValueError as error:
        errors["email"] = str(error)
        email = ""
    first_name = _first_name(raw.get("first_name"), errors)
    locale = _optional_text(raw.get("locale"))
    if locale is not None and locale not in locales:
        errors["locale"] = f"{locale!r} is not one of {', '.join(locales)}"
    status = _optional_text(raw.get("status"))
    if status is not None and status not in set(Status):
        errors["status"] = f"{status!r} is not one of {', '.join(Status)}"

    attributes = raw.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, Mapping):
            errors["attributes"] = "expected an object of attribute values"
        else:
            try:
                attributes = validate_attributes(attributes, schema)
            except InvalidAttributes as error:
                errors.update({f"attributes.{name}": message for name, message in error.errors.items()})

    if errors:
        raise InvalidCustomer(errors)
    return CustomerData(
        external_id=external_id,
        email=email,
        first_name=first_name,
        locale=locale,
        status=Status(status) if status is not None else None,
        attributes=attributes,
    )


def _external_id(value: Any, errors: dict[str, str]) -> str:
    # CRMs often number their customers; JSON clients then send a number, CSV a string.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        errors["external_id"] = "an external id (the CRM's customer id) is required"
        return ""
    value = value.strip()
    if len(value) > MAX_EXTERNAL_ID or any(ord(c) < 32 for c in value):
        errors["external_id"] = f"must be at most {MAX_EXTERNAL_ID} printable characters"
    return value


def _first_name(value: Any, errors: dict[str, str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors["first_name"] = "expected text"
        return None
    value = value.strip()
    # A first name may end up in a subject line: no line breaks or other control characters.
    if len(value) > MAX_FIRST_NAME or any(ord(c) < 32 or ord(c) == 127 for c in value):
        errors["first_name"] = f"must be at most {MAX_FIRST_NAME} printable characters"
    return value or None


def _optional_text(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value
