"""Consent events may come through the mailto unsubscribe (channel "mailto"): the channel's
CHECK constraint admits it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from typing import Sequence, Union

from alembic import op

revision: str = "0008"
down_revision: Union[str, None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BEFORE = ("page", "one-click", "api", "import")
AFTER = BEFORE + ("mailto",)


def _one_of(values: tuple[str, ...]) -> str:
    return f"channel IN ({', '.join(repr(v) for v in values)})"


def _channels(values: tuple[str, ...]) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new one.
    with op.batch_alter_table("consent_event") as batch:
        batch.drop_constraint(op.f("ck_consent_event_channel"), type_="check")
        batch.create_check_constraint(op.f("ck_consent_event_channel"), _one_of(values))


def upgrade() -> None:
    _channels(AFTER)


def downgrade() -> None:
    # Consent events are never deleted: with mailto events recorded, this fails, as it should.
    _channels(BEFORE)
