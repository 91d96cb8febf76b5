"""Domain errors of the preference centre.

Domain code raises these; only the HTTP layer and the CLI turn them into status codes, pages,
JSON bodies and exit codes. Nothing here knows about HTTP.

Every validation error carries ``errors``: a dict from field name to a message a person can act
on, so the API can answer with field names and the import can print ``FILE:line: message``.
"""

from __future__ import annotations

from typing import Mapping


class PreferencesError(Exception):
    """Base class of every error the preference centre raises on purpose."""


class BadLink(PreferencesError):
    """A signed link token is malformed, tampered with, or made for another purpose.

    ``reason`` is for logs and tests only: the HTTP layer must show the same page, status and
    timing for every reason, so that a token never reveals whether a customer exists.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"bad link: {reason}")
        self.reason = reason


class InvalidInput(PreferencesError):
    """Input failed validation; ``errors`` names every bad field with a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        if not errors:
            raise ValueError("an InvalidInput needs at least one error")
        self.errors: dict[str, str] = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))


class InvalidAttributes(InvalidInput):
    """Customer attributes do not fit the attribute schema (keys are attribute names)."""


class InvalidCustomer(InvalidInput):
    """Customer data (email, external id, locale, status, attributes.<name>) is not valid."""


class InvalidPreference(InvalidInput):
    """A preference change is not allowed; ``field`` is the first bad field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__({field: message})
        self.field = field
        self.message = message

    @classmethod
    def from_errors(cls, errors: Mapping[str, str]) -> "InvalidPreference":
        """One error naming several bad fields at once (all of them end up in ``errors``)."""
        (field, message), *_ = errors.items()
        error = cls(field, message)
        error.errors = dict(errors)
        error.args = ("; ".join(f"{f}: {m}" for f, m in errors.items()),)
        return error


class StaleForm(PreferencesError):
    """The form was built from an older state than the last saved change; nothing was changed."""

    def __init__(self, expected_version: int, current_version: int) -> None:
        super().__init__(f"form is stale: built from version {expected_version}, now {current_version}")
        self.expected_version = expected_version
        self.current_version = current_version


class UnknownCustomer(PreferencesError):
    """No customer has the given public id, external id or database id."""


class DuplicateCustomer(PreferencesError):
    """Another customer already has this external id or email address (``field`` says which)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"another customer already has this {field.replace('_', ' ')}")
        self.field = field


class Conflicts(PreferencesError):
    """Items of a batch whose email address belongs to another customer: ``errors`` maps the
    item's index to {field: message}. Raised after every item was tried; roll the session back."""

    def __init__(self, errors: Mapping[int, Mapping[str, str]]) -> None:
        self.errors = {index: dict(fields) for index, fields in errors.items()}
        # Set by import_rows: the same errors by line in the file.
        self.lines: dict[int, dict[str, str]] = {}
        super().__init__(f"{len(self.errors)} item(s) conflict with other customers")
