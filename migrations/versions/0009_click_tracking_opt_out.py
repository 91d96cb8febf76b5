"""A customer may ask not to have their clicks measured (the preference page, the API): their
emails are sent with the links as written, never through the click redirect.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Every existing customer keeps the default (measured) until they untick it.
    with op.batch_alter_table("preference") as batch:
        batch.add_column(sa.Column("click_tracking", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("preference") as batch:
        batch.drop_column("click_tracking")
