"""Sent is sent: each edition's compiled bodies archived (content-addressed, zlib), and the body
each delivery was sent named on its ledger row, so the web version shows what was sent.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

Written by hand to match service/sending/archive.py and service/sending/tables.py
(tests/service/sending/test_archive.py compares them on SQLite and PostgreSQL). Deliveries sent
before it keep no digest: their web version is rendered from the content, as it was.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: Union[str, None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "archive_body",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("compression", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_archive_body")),
    )
    op.create_table(
        "archive_edition",
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("variant", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("template", "edition_date", "variant", "digest", name=op.f("pk_archive_edition")),
    )
    op.create_index("ix_archive_edition_digest", "archive_edition", ["digest"])
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("body_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("body_digest")
    op.drop_index("ix_archive_edition_digest", table_name="archive_edition")
    op.drop_table("archive_edition")
    op.drop_table("archive_body")
