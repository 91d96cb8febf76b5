"""What the block editor changed, queries named by intent: each save of a block by a staff
account (``block_change``: the block, the version written, who wrote its text, who saved it,
the git commit) and, beside it, the staff action in the audit trail (``staff_event``).

Four-eyes rests on it: a version's author is whoever wrote its text, and an approval (a save
that only sets the status to ready) keeps the author of the version it approves, so a reviewer
can be told they are approving their own text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from preferences.utc import utcnow
from service.staff.accounts import Account, record
from service.staff.tables import block_change

CREATED, EDITED, APPROVED = "created", "edited", "approved"


@dataclass(frozen=True)
class Change:
    block: str
    action: str
    version: str
    author: str
    actor: str
    status: str
    git_commit: str | None
    at: datetime


def _change(row) -> Change:
    return Change(row.block, row.action, row.version, row.author, row.actor, row.status, row.git_commit, row.at)


def record_change(conn: Connection, account: Account, *, block: str, action: str, version: str,
                  previous: str | None, author: str, status: str, git_commit: str | None) -> None:
    """One save of a block, and the staff action in the audit trail."""
    team = block.partition("/")[0]
    conn.execute(block_change.insert().values(
        block=block, team=team, action=action, version=version, previous=previous, author=author[:64],
        staff_id=account.id, actor=account.name, status=status, git_commit=git_commit, at=utcnow()))
    record(conn, f"block-{action}", account.name, staff_id=account.id,
           detail=f"{block} {version[:12]}" + (f" commit {git_commit[:12]}" if git_commit else ""))


def author_of(conn: Connection, block: str, version: str) -> str | None:
    """Who wrote the text of this version of the block (None: it was not saved in the editor)."""
    return conn.execute(select(block_change.c.author).where(block_change.c.block == block,
                                                           block_change.c.version == version)
                        .order_by(block_change.c.id.desc()).limit(1)).scalar()


def latest_of_team(conn: Connection, team: str) -> dict[str, Change]:
    """The last change of each block of ``team`` saved in the editor."""
    last = (select(func.max(block_change.c.id)).where(block_change.c.team == team)
            .group_by(block_change.c.block).scalar_subquery())
    rows = conn.execute(select(block_change).where(block_change.c.id.in_(last)))
    return {row.block: _change(row) for row in rows}


def history_of(conn: Connection, block: str, limit: int = 20) -> list[Change]:
    """The block's changes in the editor, newest first."""
    rows = conn.execute(select(block_change).where(block_change.c.block == block)
                        .order_by(block_change.c.id.desc()).limit(limit))
    return [_change(row) for row in rows]
