"""The rankings of the best-of editions (template.yaml's ``digest:``), decided once per edition
and digest when the send starts, so every worker and a resumed run assemble the same blocks.

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-04
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
# 0018 (the experiments' decisions) is built beside this one: whichever merges second revises the other.
down_revision: Union[str, None] = "0018"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "digest_ranking",
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("ranking", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("template", "edition_date", "digest", name=op.f("pk_digest_ranking")),
    )


def downgrade() -> None:
    op.drop_table("digest_ranking")
