"""A best-of edition's blocks (template.yaml's ``digest:``): the measured ranking of a segment's
stories, and a slot's candidates put in its order.

The ranking is measured once per edition and digest from the results of the window's weekly
editions (service/results/best_of.py) and, for a send, kept in the database before its first
worker starts (service/sending/digests.py), so every worker and a resumed run apply the same one.
Here it is only applied: a slot's candidates (the blocks the normal rules allow on the edition
date, so an expired or unpublished block, a draft or another segment's block never competes)
come ranked first, by rate, then the thin ones (fewer measured recipients than the digest's
``min_recipients``, or none: new blocks) in the normal order, which tops the slot up. The variant's
exclusions, ``max``, fallback and ``required`` then apply as in any edition.

(``service.assembly.edition`` uses this module; the Edition and its variant keys are there.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from types import MappingProxyType
from typing import Callable, Mapping

from preferences.due import due_reason
from preferences.models import Status

from service.content.model import Block, Digest, Template

LIVE = "live"  # a ranking measured for a plan or preview, not decided by a send


@dataclass(frozen=True)
class Measured:
    """What one story did in one segment over a digest's window."""

    clickers: int  # unique clickers, summed over the window's editions
    recipients: int  # who got it with click measuring on, summed over the editions

    @property
    def rate(self) -> Fraction:
        return Fraction(self.clickers, self.recipients) if self.recipients else Fraction(0)


@dataclass(frozen=True)
class Ranking:
    """One digest's measurements for one edition: per segment, per story."""

    digest: str  # Digest.name: "best of 4w"
    first: date  # the window: editions from first to last, both included
    last: date
    editions: tuple[date, ...] = ()  # the weekly editions in it that have results
    segments: Mapping[str, Mapping[str, Measured]] = field(default_factory=lambda: MappingProxyType({}))
    decided: str = LIVE  # LIVE, or when a send decided it (ISO timestamp)

    def of(self, segment: str) -> Mapping[str, Measured]:
        return self.segments.get(segment, MappingProxyType({}))

    def window_text(self) -> str:
        shown = ", ".join(d.isoformat() for d in self.editions) or "none with results yet"
        when = "measured now, not yet decided by a send" if self.decided == LIVE else f"decided {self.decided}"
        return f"{self.digest}: editions {self.first} to {self.last} ({shown}); {when}"

    def to_json(self) -> str:
        return json.dumps({"digest": self.digest, "first": self.first.isoformat(), "last": self.last.isoformat(),
                           "editions": [d.isoformat() for d in self.editions],
                           "segments": {s: {story: [m.clickers, m.recipients] for story, m in sorted(found.items())}
                                        for s, found in sorted(self.segments.items())}}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, decided: str) -> Ranking:
        data = json.loads(text)
        segments = {s: MappingProxyType({story: Measured(*pair) for story, pair in found.items()})
                    for s, found in data["segments"].items()}
        return cls(data["digest"], date.fromisoformat(data["first"]), date.fromisoformat(data["last"]),
                   tuple(date.fromisoformat(d) for d in data["editions"]), MappingProxyType(segments), decided)


def window(digest: Digest, edition_date: date) -> tuple[date, date]:
    """The editions a digest of ``edition_date`` ranks: those of the ``weeks`` weeks before it."""
    return edition_date - timedelta(weeks=digest.weeks), edition_date - timedelta(days=1)


def due_digests(template: Template, day: date) -> list[Digest]:
    """The digests some readers get on the edition of ``day``: a monthly reader's on the first
    edition of the month, a biweekly reader's on any (when their last one is old enough), by
    the send's own due rules (preferences/due.py)."""
    previous = template.schedule.previous_edition(day)
    return [d for d in template.digests
            if any(due_reason(Status.ACTIVE, pace, None, day, None, previous) is None for pace in d.paces)]


@dataclass(frozen=True)
class Ranked:
    """Why a block stands where it does in a digest's slot."""

    block: str
    measured: Measured | None  # None: no recipient in the window
    place: int | None  # 1 = the best rate; None: thin, it tops the slot up by the normal rules

    def text(self, digest: Digest, chosen: bool) -> str:
        """``#1 offers/x.de: 12.5% (25 of 200 measured recipients), chosen``; a thin block
        ``top-up`` (chosen) or ``thin`` (not chosen)."""
        found = self.measured
        figures = f"{float(found.rate):.1%} ({found.clickers} of {found.recipients} measured recipients)" \
            if found else "no measured recipients in the window"
        if self.place is not None:
            return f"#{self.place} {self.block}: {figures}" + (", chosen" if chosen else "")
        short = f", fewer than {digest.min_recipients}" if found else ""
        return f"{'top-up' if chosen else 'thin'} {self.block}: {figures}{short}, by the normal rules"


def in_digest_order(candidates: list[Block], measured: Mapping[str, Measured], digest: Digest,
                    normal: Callable[[Block], tuple]) -> tuple[list[Block], tuple[Ranked, ...]]:
    """A slot's candidates (in ``normal`` order) in the digest's order, and each one's place."""
    def rank_key(block: Block) -> tuple:  # the best rate, then more recipients, then the normal order
        found = measured[block.story]
        return (-found.rate, -found.recipients, normal(block))

    ranked = sorted((b for b in candidates if _is_ranked(measured.get(b.story), digest)), key=rank_key)
    thin = [b for b in candidates if not _is_ranked(measured.get(b.story), digest)]
    places = [Ranked(b.id, measured[b.story], n) for n, b in enumerate(ranked, 1)]
    places += [Ranked(b.id, measured.get(b.story), None) for b in thin]
    return ranked + thin, tuple(places)


def _is_ranked(found: Measured | None, digest: Digest) -> bool:
    return found is not None and found.recipients > 0 and found.recipients >= digest.min_recipients
