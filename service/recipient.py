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
