"""The arms of the experiments each customer was sent (``brand/hero-advent=b;...``): a delivery
row records them with its outcome, so the results can tell the arms' recipients apart.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: Union[str, None] = "0016"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Rows sent before experiments existed hold no arms (NULL), as do rows of no experiment.
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("arms", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("arms")
