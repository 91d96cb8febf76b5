"""What the engine needs to know about one customer to assemble and render their email."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Recipient:
    public_id: str
    email: str
    first_name: str | None = None
    locale: str = "de"
    attributes: Mapping[str, Any] = field(default_factory=dict)
    excluded_groups: frozenset[str] = frozenset()
    customer_id: int | None = None
    click_tracking: bool = True  # False: opted out of click measuring (the preference page)

    @classmethod
    def from_row(cls, row: Any) -> "Recipient":
        """From a row of preferences.store.iter_send_candidates (or anything with those names)."""
        return cls(public_id=row.public_id, email=row.email, first_name=row.first_name,
                   locale=row.locale, attributes=row.attributes or {},
                   excluded_groups=frozenset(row.excluded_groups or ()), customer_id=row.id,
                   click_tracking=bool(getattr(row, "click_tracking", True)))
