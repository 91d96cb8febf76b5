"""The block editor's record of every save: who changed which block to which version, and who
approved (set ready) a version someone else wrote (four-eyes).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

Written by hand to match service/staff/tables.py (tests/service/staff/test_block_changes.py
compares the two on SQLite and PostgreSQL).
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: Union[str, None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "block_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("block", sa.String(200), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("previous", sa.String(64), nullable=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('created', 'edited', 'approved')", name=op.f("ck_block_change_action")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_block_change_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_block_change")),
    )
    op.create_index("ix_block_change_block", "block_change", ["block", "at"])


def downgrade() -> None:
    op.drop_table("block_change")
