"""A send run remembers whether only ``--limit`` test runs have planned it so far.

``newsletter send --due`` counts an edition as started only once a full run planned it: a test run
(``--limit N``) of an edition that was refused as too late must not make it due (issue 10.16).
Existing runs are full runs (false).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op

revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("send_run") as batch:
        batch.add_column(sa.Column("test_runs_only", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("send_run") as batch:
        batch.drop_column("test_runs_only")
