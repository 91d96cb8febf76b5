"""What ``newsletter send --due`` does with a tested edition, one step at a time, each safe to
repeat after a crash (kill -9 anywhere leaves a state the next call continues from):

1. the test phase: until no row of the sample is left to send (``TESTING``: the caller sends it);
2. the wait: until ``decide_after`` (template.yaml) is over, counted from the sample's end
   (``WAITING``), unless every experiment of the edition is decided by hand already;
3. the decision: the results are refreshed, every experiment without a decision is decided
   from its measured figures, and the decisions are committed;
4. the release, in a transaction of its own after that: the held rows become pending with the
   winners' arms (``RELEASED``: the caller sends them as any edition).

A crash before 3 commits decides again later from the clicks there are then; one after it finds
the decisions and only releases; the release is one transaction, done once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from preferences.database import for_writes
from service.content.model import Content
from service.experiments.decisions import Decision, decide_untested, decisions_of, winner_arms
from service.experiments.measured import experiments_of
from service.results.refresh import refresh
from service.sending import phases
from service.sending.ledger import EditionKey

NOT_TESTED, TESTING, WAITING, RELEASED = "not tested", "testing", "waiting", "released"


@dataclass(frozen=True)
class Conclusion:
    state: str
    decide_at: datetime | None = None  # when the experiments are decided (WAITING)
    decided: list[Decision] = field(default_factory=list)  # decided by this call
    released: int = 0  # held rows this call released
    undecided: tuple[str, ...] = ()  # WAITING: the experiments without a decision


def conclude(engine: Engine, content: Content, edition: EditionKey, now: datetime) -> Conclusion:
    """Take the tested edition as far as it can go now (see the module docstring)."""
    writes = for_writes(engine)
    with writes.begin() as conn:
        run = phases.mark_test_done(conn, edition)
    if not phases.testing(run):
        return Conclusion(RELEASED if phases.released(run) else NOT_TESTED)
    if run.test_done_at is None:
        return Conclusion(TESTING)
    template = content.templates.get(edition.template)
    after = template.decide_after if template is not None else None
    decide_at = run.test_done_at + after if after is not None else None
    refresh(engine)  # the rollups hold the sample's clicks up to now
    made: list[Decision] = []
    with writes.begin() as conn:
        decided = decisions_of(conn, edition)
        undecided = tuple(e for e in experiments_of(conn, edition.template, edition.day) if e not in decided)
        if undecided:
            if decide_at is None or now < decide_at:
                return Conclusion(WAITING, decide_at, undecided=undecided)
            made = decide_untested(conn, content, edition)
    with writes.begin() as conn:  # only once the decisions are committed
        released = phases.release(conn, edition, winner_arms(decisions_of(conn, edition)))
    return Conclusion(RELEASED, decide_at, made, released)
