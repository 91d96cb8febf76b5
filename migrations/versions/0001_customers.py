"""Customers, their preferences and the consent trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Written by hand to match preferences/models.py (the test suite compares them on SQLite and
PostgreSQL). Constraint names follow the naming convention set in models.py and are written out
in full with op.f(), which keeps Alembic from applying that convention a second time.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _timestamp():
    return sa.DateTime(timezone=True)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(22), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=True),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("attributes", _json(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        sa.UniqueConstraint("external_id", name=op.f("uq_customer_external_id")),
        sa.CheckConstraint(_one_of("status", ("active", "unsubscribed", "pending")), name=op.f("ck_customer_status")),
    )
    op.create_index(op.f("ix_customer_public_id"), "customer", ["public_id"], unique=True)
    op.create_index(op.f("uq_customer_email_lower"), "customer", [sa.text("lower(email)")], unique=True)

    op.create_table(
        "preference",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("paused_until", sa.Date(), nullable=True),
        sa.Column("excluded_groups", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_preference")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_preference_customer_id_customer"), ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            _one_of("frequency", ("weekly", "biweekly", "monthly")), name=op.f("ck_preference_frequency")
        ),
    )

    op.create_table(
        "consent_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.Column("client_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_event")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_consent_event_customer_id_customer")),
        sa.CheckConstraint(
            _one_of("channel", ("page", "one-click", "api", "import")), name=op.f("ck_consent_event_channel")
        ),
    )
    op.create_index(op.f("ix_consent_event_customer_id"), "consent_event", ["customer_id"])


def downgrade() -> None:
    op.drop_table("consent_event")
    op.drop_table("preference")
    op.drop_table("customer")
