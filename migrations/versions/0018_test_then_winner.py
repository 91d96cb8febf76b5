"""Test, then send the winner: a tested edition's sample share and phases (send_run), the held
state and the phase of a delivery row, and the decisions of its experiments.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04

Written by hand to match service/sending/tables.py and service/experiments/tables.py. Rows and
runs from before are of editions without a test: their new columns stay NULL. SQLite changes
the state's CHECK by recreating the delivery table (batch mode).
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: Union[str, None] = "0017"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_STATES = "state IN ('pending', 'claimed', 'sent', 'skipped', 'failed')"
NEW_STATES = "state IN ('pending', 'claimed', 'sent', 'skipped', 'failed', 'held')"


def upgrade() -> None:
    with op.batch_alter_table("send_run") as batch:
        batch.add_column(sa.Column("test_share", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("test_done_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("winner_arms", sa.Text(), nullable=True))
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("phase", sa.String(8), nullable=True))
        batch.drop_constraint(op.f("ck_delivery_state"), type_="check")
        batch.create_check_constraint(op.f("ck_delivery_state"), NEW_STATES)
    op.create_table(
        "experiment_decision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("experiment", sa.String(200), nullable=False),
        sa.Column("arm", sa.String(20), nullable=False),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_decision")),
        sa.UniqueConstraint("template", "edition_date", "experiment",
                            name="uq_experiment_decision_edition_experiment"),
    )


def downgrade() -> None:
    op.drop_table("experiment_decision")
    op.execute("DELETE FROM delivery WHERE state = 'held'")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_constraint(op.f("ck_delivery_state"), type_="check")
        batch.create_check_constraint(op.f("ck_delivery_state"), OLD_STATES)
        batch.drop_column("phase")
    with op.batch_alter_table("send_run") as batch:
        for column in ("winner_arms", "released_at", "test_done_at", "test_share"):
            batch.drop_column(column)
