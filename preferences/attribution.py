"""Which edition a change came from: the ``edition`` parameter of a mail's personal links.

Every unsubscribe and preference link of a mail carries the edition it was sent in
(``/unsubscribe/{token}?edition=weekly/2026-11-23``), and so does the mailto unsubscribe's
subject. The pages read it (``edition_of``) and record it on every consent event the request
writes (``from_edition`` around the work, like ``consent.acting_as``), so that churn and the
narrower choices are counted per edition. It is not signed: it only says where a customer
clicked, a customer can only name an edition for themselves, and the results count an event for
an edition only where the ledger has that customer's delivery of it. Anything that is not an
edition's shape is ignored (an old mail without it keeps working).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import Iterator
from urllib.parse import quote

EDITION_PARAM = "edition"
_EDITION = re.compile(r"([a-z0-9][a-z0-9_-]{0,63})/(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class EditionRef:
    template: str
    day: date

    @property
    def id(self) -> str:
        return f"{self.template}/{self.day.isoformat()}"


def edition_of(value: object) -> EditionRef | None:
    """The edition named by a link's parameter, or None for anything else."""
    if not isinstance(value, str) or len(value) > 80:
        return None
    found = _EDITION.fullmatch(value)
    if found is None:
        return None
    try:
        return EditionRef(found.group(1), date.fromisoformat(found.group(2)))
    except ValueError:
        return None


def edition_query(edition_id: str) -> str:
    """The query string a mail's personal links end with: ``?edition=weekly/2026-11-23``."""
    return f"?{EDITION_PARAM}={quote(edition_id, safe='/')}"


_CURRENT: ContextVar[EditionRef | None] = ContextVar("consent_edition", default=None)


def current_edition() -> EditionRef | None:
    """The edition set by ``from_edition`` around the current work, if any."""
    return _CURRENT.get()


@contextmanager
def from_edition(edition: EditionRef | None) -> Iterator[None]:
    """Every consent event recorded inside names ``edition`` as where the change came from."""
    token = _CURRENT.set(edition)
    try:
        yield
    finally:
        _CURRENT.reset(token)
