"""What a send is waiting for, as the engine reports it and the progress display shows it: a
reason in words and, when known, the time the wait ends (UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Waiting:
    reason: str
    until: datetime | None = None
