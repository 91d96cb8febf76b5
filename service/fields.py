"""The fields editors may use in blocks, layouts and subjects, and which of them are personal."""

from __future__ import annotations

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
