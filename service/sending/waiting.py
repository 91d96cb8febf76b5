"""What a send is waiting for, as the engine reports it and the progress display shows it: a
reason in words and, when known, the time the wait ends (UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Waiting:
    reason: str
    until: datetime | None = None


def relay_wait(answer: str, deferred_at: datetime, backoff_max_s: float) -> Waiting:
    """A send whose relay deferred its last batch: the relay's words, and when the next try
    comes at the latest (the workers back off up to ``backoff_max_s`` between tries)."""
    return Waiting(f"waiting for the relay, which answered: {answer}; next try by",
                   deferred_at + timedelta(seconds=backoff_max_s))
