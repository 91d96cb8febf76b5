"""Consent events name the edition whose link the change came from (its unsubscribe or
preference link): the results count churn, and the narrower choices, per edition.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("consent_event") as batch:
        batch.add_column(sa.Column("template", sa.String(64), nullable=True))
        batch.add_column(sa.Column("edition_date", sa.Date(), nullable=True))
        batch.create_index("ix_consent_event_edition", ["template", "edition_date"])


def downgrade() -> None:
    with op.batch_alter_table("consent_event") as batch:
        batch.drop_index("ix_consent_event_edition")
        batch.drop_column("edition_date")
        batch.drop_column("template")
