"""Double opt-in: every request to subscribe and its confirmation kept as proof (opt_in), every
consent wording shown (consent_text), the outbox of mails the service owes a customer (the
confirmation); consent events outlive the customer (no foreign key), and the channel "system"
(the service's own rules, e.g. deleting a signup nobody confirmed).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

Written by hand to match preferences/optin/tables.py and preferences/models.py
(tests/preferences/test_database.py compares them). Customers pending before this revision get
an opt_in row from their last change, so their confirm links expire like every other.
"""

from datetime import timedelta
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0011"
down_revision: Union[str, None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BEFORE = ("page", "one-click", "api", "import", "mailto", "signup", "complaint", "bounce", "operator")
AFTER = BEFORE + ("system",)
DEFAULT_TTL_DAYS = 7


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("consent_event") as batch:
        batch.drop_constraint(op.f("fk_consent_event_customer_id_customer"), type_="foreignkey")
        batch.drop_constraint(op.f("ck_consent_event_channel"), type_="check")
        batch.create_check_constraint(op.f("ck_consent_event_channel"), _one_of("channel", AFTER))
    op.create_table(
        "consent_text",
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_shown_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_consent_text")),
    )
    op.create_table(
        "opt_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("requested_at", _time(), nullable=False),
        sa.Column("request_client", sa.String(64), nullable=True),
        sa.Column("request_user_agent", sa.String(300), nullable=True),
        sa.Column("request_wording", sa.String(40), nullable=True),
        sa.Column("requested", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True),
        sa.Column("expires_at", _time(), nullable=False),
        sa.Column("confirmed_at", _time(), nullable=True),
        sa.Column("confirm_client", sa.String(64), nullable=True),
        sa.Column("confirm_user_agent", sa.String(300), nullable=True),
        sa.Column("confirm_channel", sa.String(16), nullable=True),
        sa.Column("confirm_wording", sa.String(40), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE",
                                name=op.f("fk_opt_in_customer_id_customer")),
        sa.ForeignKeyConstraint(["request_wording"], ["consent_text.version"],
                                name=op.f("fk_opt_in_request_wording_consent_text")),
        sa.ForeignKeyConstraint(["confirm_wording"], ["consent_text.version"],
                                name=op.f("fk_opt_in_confirm_wording_consent_text")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_in")),
    )
    op.create_index(op.f("ix_opt_in_customer_id"), "opt_in", ["customer_id"])
    op.create_index("ix_opt_in_open", "opt_in", ["customer_id", "confirmed_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("opt_in_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("due_at", _time(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("claimed_at", _time(), nullable=True),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("sent_at", _time(), nullable=True),
        sa.CheckConstraint("kind IN ('confirmation')", name=op.f("ck_outbox_kind")),
        sa.CheckConstraint("state IN ('queued', 'claimed', 'sent', 'failed')", name=op.f("ck_outbox_state")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE",
                                name=op.f("fk_outbox_customer_id_customer")),
        sa.ForeignKeyConstraint(["opt_in_id"], ["opt_in.id"], ondelete="CASCADE",
                                name=op.f("fk_outbox_opt_in_id_opt_in")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_customer_id"), "outbox", ["customer_id"])
    op.create_index("ix_outbox_work", "outbox", ["state", "due_at"])
    # Customers already pending: their request is their last change (channel unknown: "page",
    # the only way to become pending again before this revision besides the API and imports).
    customer = sa.table("customer", sa.column("id"), sa.column("status"), sa.column("updated_at", sa.DateTime()))
    rows = op.get_bind().execute(sa.select(customer.c.id, customer.c.updated_at)
                                 .where(customer.c.status == "pending")).all()
    if rows:
        opt_in = sa.table("opt_in", sa.column("customer_id"), sa.column("channel"),
                          sa.column("requested_at", sa.DateTime()), sa.column("expires_at", sa.DateTime()))
        op.bulk_insert(opt_in, [{"customer_id": r.id, "channel": "page", "requested_at": r.updated_at,
                                 "expires_at": r.updated_at + timedelta(days=DEFAULT_TTL_DAYS)} for r in rows])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("opt_in")
    op.drop_table("consent_text")
    with op.batch_alter_table("consent_event") as batch:
        batch.drop_constraint(op.f("ck_consent_event_channel"), type_="check")
        batch.create_check_constraint(op.f("ck_consent_event_channel"), _one_of("channel", BEFORE))
        batch.create_foreign_key(op.f("fk_consent_event_customer_id_customer"), "customer", ["customer_id"], ["id"])
