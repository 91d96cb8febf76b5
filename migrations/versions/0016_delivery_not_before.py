"""Per-recipient back-off: a delivery the relay deferred for its recipient alone (a 4xx to its
RCPT TO or DATA) goes back to pending with the time before which it is not tried again.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

Written by hand to match service/sending/tables.py (tests/service/sending/test_ledger.py compares
the two on SQLite and PostgreSQL). ``not_before`` joins the end of ix_delivery_work: the claim
of fresh rows (``not_before IS NULL``) still walks its part of the index in id order, and the
rows waiting for their retry are found, counted and timed from the index alone. Rows planned
before it have no ``not_before``: claimable as they were.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: Union[str, None] = "0015"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
    op.drop_index("ix_delivery_work", table_name="delivery")
    op.create_index("ix_delivery_work", "delivery", ["template", "edition_date", "state", "not_before"])


def downgrade() -> None:
    op.drop_index("ix_delivery_work", table_name="delivery")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("not_before")
    op.create_index("ix_delivery_work", "delivery", ["template", "edition_date", "state"])
