"""The send's delivery ledger: one run per edition, one delivery row per edition and customer.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Written by hand to match service/sending/ledger.py (`alembic check` finds nothing to do on both SQLite
and PostgreSQL; tests/service/sending/test_ledger.py checks it).
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op

revision: str = "0002"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _timestamp():
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "send_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("content_version", sa.String(32), nullable=True),
        sa.Column("plan_complete", sa.Boolean(), nullable=False),
        sa.Column("started_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("completed_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_run")),
        sa.UniqueConstraint("template", "edition_date", name=op.f("uq_send_run_template_edition_date")),
    )
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("segment", sa.String(64), nullable=True),
        sa.Column("variant", sa.String(200), nullable=True),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("claimed_at", _timestamp(), nullable=True),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_delivery_customer_id_customer"),
                                ondelete="CASCADE"),
        sa.UniqueConstraint("template", "edition_date", "customer_id",
                            name=op.f("uq_delivery_template_edition_customer")),
        sa.CheckConstraint("state IN ('pending', 'claimed', 'sent', 'skipped', 'failed')",
                           name=op.f("ck_delivery_state")),
    )
    op.create_index(op.f("ix_delivery_work"), "delivery", ["template", "edition_date", "state"])
    op.create_index(op.f("ix_delivery_customer"), "delivery", ["customer_id", "template", "edition_date"])


def downgrade() -> None:
    op.drop_table("delivery")
    op.drop_table("send_run")
