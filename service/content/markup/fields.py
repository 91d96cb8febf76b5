"""The fields editors may use in blocks, layouts and subjects, which of them are personal, and
the placeholder a personal field is compiled as (substituted per recipient later)."""

from __future__ import annotations

import re

from markupsafe import Markup

# Substituted per recipient into the compiled email; may only be printed, never tested.
PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "recipient": ("first_name", "email"),
    "links": ("preferences", "unsubscribe", "view_online"),
}
# Fixed for a whole variant: fine in logic (`{% if locale == "de" %}`).
VARIANT_FIELDS: dict[str, tuple[str, ...] | None] = {
    "edition": ("date", "name"),
    "segment": ("id", "name"),
    "locale": None,  # a plain value, no attributes
    "preheader": None,  # the template's preheader for the locale, for the layout's <mj-preview>
}
PERSONAL_LINKS = frozenset(f"links.{name}" for name in PERSONAL_FIELDS["links"])


def known_fields() -> list[str]:
    """Every field an editor may write, for error messages."""
    names = [f"{root}.{attr}" for root, attrs in PERSONAL_FIELDS.items() for attr in attrs]
    for root, attrs in VARIANT_FIELDS.items():
        names.extend([root] if attrs is None else [f"{root}.{attr}" for attr in attrs])
    return names


# ASCII on purpose: mjml-python rewrites private-use characters inside attribute values.
_TOKEN = "@@nl:{}@@"
PLACEHOLDER = re.compile(r"@@nl:([a-z_]+\.[a-z_]+)@@")
FIELD_NAMES = tuple(f"{root}.{attr}" for root, attrs in PERSONAL_FIELDS.items() for attr in attrs)


def placeholder(name: str) -> str:
    return _TOKEN.format(name)


def placeholder_context() -> dict[str, dict[str, Markup]]:
    """The Jinja context values of the personal fields: placeholders, already 'safe'."""
    return {root: {attr: Markup(placeholder(f"{root}.{attr}")) for attr in attrs}
            for root, attrs in PERSONAL_FIELDS.items()}
