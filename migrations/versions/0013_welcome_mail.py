"""The welcome mail: an index on the time of each confirmation, by which the send finds the
customers who confirmed their first signup on a given day (service/sending/due.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

Written by hand to match preferences/optin/tables.py (tests/preferences/test_database.py
compares them).
"""

from typing import Sequence, Union

from alembic import op

revision: str = "0013"
down_revision: Union[str, None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_opt_in_confirmed", "opt_in", ["confirmed_at"])


def downgrade() -> None:
    op.drop_index("ix_opt_in_confirmed", table_name="opt_in")
