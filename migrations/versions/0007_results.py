"""Results: what each variant held, the clicks' verdicts, and the rollups of the results pages.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Written by hand to match service/sending/contents.py and service/results/tables.py
(tests/service/results/test_refresh.py compares them on SQLite and PostgreSQL).
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "variant_block",
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("variant", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("slot", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("template", "edition_date", "variant", "owner", name=op.f("pk_variant_block")),
    )
    op.create_table(
        "block_group",
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("product_group", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("template", "edition_date", "owner", "product_group", name=op.f("pk_block_group")),
    )
    with op.batch_alter_table("click") as batch:
        batch.add_column(sa.Column("verdict", sa.String(8), nullable=True))
    op.create_table(
        "result_click",
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("key", sa.String(220), nullable=False),
        sa.Column("segment", sa.String(64), nullable=False),
        sa.Column("variant", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("clickers", sa.Integer(), nullable=False),
        sa.Column("machine_clicks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("template", "edition_date", "dimension", "key", "segment", "variant",
                                name=op.f("pk_result_click")),
    )
    op.create_table(
        "result_audience",
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("segment", sa.String(64), nullable=False),
        sa.Column("variant", sa.String(200), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("template", "edition_date", "measure", "key", "segment", "variant",
                                name=op.f("pk_result_audience")),
    )
    op.create_table(
        "result_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("click_id", sa.Integer(), nullable=False),
        sa.Column("consent_event_id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_state")),
    )


def downgrade() -> None:
    for table in ("result_state", "result_audience", "result_click", "block_group", "variant_block"):
        op.drop_table(table)
    with op.batch_alter_table("click") as batch:
        batch.drop_column("verdict")
