"""The address lifecycle: the suppression list, the bounce and complaint reports, the channels
through which signups, complaints, bounces and operators change consent, and deliveries found by
their Message-ID (a bounce names the message it is about).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

Written by hand to match preferences/suppression/tables.py, preferences/models.py and
service/sending/tables.py (tests/preferences/test_database.py compares them).
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0010"
down_revision: Union[str, None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BEFORE = ("page", "one-click", "api", "import", "mailto")
AFTER = BEFORE + ("signup", "complaint", "bounce", "operator")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _channels(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("consent_event") as batch:
        batch.drop_constraint(op.f("ck_consent_event_channel"), type_="check")
        batch.create_check_constraint(op.f("ck_consent_event_channel"), _one_of("channel", values))


def upgrade() -> None:
    _channels(AFTER)
    op.create_table(
        "suppression",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(500), nullable=True),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reason IN ('hard-bounce', 'soft-bounces', 'complaint', 'manual')",
                           name=op.f("ck_suppression_reason")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="SET NULL",
                                name=op.f("fk_suppression_customer_id_customer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression")),
        sa.UniqueConstraint("address", name=op.f("uq_suppression_address")),
    )
    op.create_index(op.f("ix_suppression_customer_id"), "suppression", ["customer_id"])
    op.create_table(
        "bounce_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_key", sa.String(400), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("template", sa.String(64), nullable=True),
        sa.Column("edition_date", sa.Date(), nullable=True),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('hard', 'soft', 'complaint')", name=op.f("ck_bounce_report_kind")),
        sa.CheckConstraint("source IN ('mailbox', 'webhook')", name=op.f("ck_bounce_report_source")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE",
                                name=op.f("fk_bounce_report_customer_id_customer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounce_report")),
        sa.UniqueConstraint("report_key", name=op.f("uq_bounce_report_report_key")),
    )
    op.create_index("ix_bounce_report_customer", "bounce_report", ["customer_id", "kind", "reported_at"])
    op.create_index("ix_bounce_report_edition", "bounce_report", ["template", "edition_date"])
    op.create_index("ix_delivery_message_id", "delivery", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_delivery_message_id", table_name="delivery")
    op.drop_table("bounce_report")
    op.drop_table("suppression")
    # Consent events are never deleted: with such events recorded, this fails, as it should.
    _channels(BEFORE)
