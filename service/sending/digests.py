"""The rankings of an edition's best-of variants, decided once when its send starts.

A digest's ranking is measured from the results of the weeks before the edition (which go on
changing while clicks come in: service/results/best_of.py measures it). The send decides it once,
before its first worker starts, and keeps it here: one row per (edition, digest), first writer
wins, so every worker, every process and a run resumed after a crash assemble the same blocks
for a segment, and ``plan`` and ``preview`` show what was decided. Workers only read it.
"""

from __future__ import annotations

from datetime import date
from typing import Mapping

from sqlalchemy import Column, Connection, Date, PrimaryKeyConstraint, String, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

import preferences.models  # noqa: F401  (sets the naming convention on the shared metadata)
from preferences.utc import UTCDateTime, utcnow

from service.assembly.digest import Ranking

digest_ranking = Table(
    "digest_ranking", SQLModel.metadata,
    Column("template", String(64), nullable=False),
    Column("edition_date", Date, nullable=False),
    Column("digest", String(32), nullable=False),   # Digest.name: "best of 4w"
    Column("ranking", Text, nullable=False),        # Ranking.to_json(): per segment, per story
    Column("decided_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("template", "edition_date", "digest"),
)


def decided_rankings(conn: Connection, template: str, day: date) -> dict[str, Ranking]:
    """The rankings a send decided for the edition, by digest name (empty: none decided yet)."""
    r = digest_ranking.c
    rows = conn.execute(select(r.digest, r.ranking, r.decided_at)
                        .where(r.template == template, r.edition_date == day)).all()
    return {name: Ranking.from_json(text, decided_at.isoformat(timespec="seconds")) for name, text, decided_at in rows}


def decide_rankings(conn: Connection, template: str, day: date, measured: Mapping[str, Ranking]) -> dict[str, Ranking]:
    """Keep ``measured`` as the edition's rankings where none is decided yet; the decided ones."""
    if measured:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        now = utcnow()
        conn.execute(dialect.insert(digest_ranking).on_conflict_do_nothing(), [
            {"template": template, "edition_date": day, "digest": name, "ranking": ranking.to_json(),
             "decided_at": now} for name, ranking in measured.items()])
    return decided_rankings(conn, template, day)


def decided(engine, template: str, day: date) -> dict[str, Ranking]:
    """``decided_rankings`` on a connection of its own (a worker building its edition)."""
    with engine.connect() as conn:
        return decided_rankings(conn, template, day)
