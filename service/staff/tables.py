"""The staff's tables, as the migrations create them (``migrations/versions/0012_staff.py`` and
``0015_block_changes.py``; ``tests/service/staff/test_accounts.py`` and
``test_block_changes.py`` compare the two)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlmodel import SQLModel

import preferences.models  # noqa: F401  (sets the naming convention on the shared metadata)
from preferences.utc import UTCDateTime

EDITOR, REVIEWER, ADMIN = "editor", "reviewer", "admin"
ROLES = (EDITOR, REVIEWER, ADMIN)

staff = Table(
    "staff", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),  # what they sign in with, and the git author
    Column("email", String(320), nullable=False, unique=True),
    Column("team", String(64), nullable=True),  # None: an admin of every team
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),
    # Bumped by a password change, a disable or "sign out everywhere": older sessions stop working.
    Column("session_epoch", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime(), nullable=True),
    CheckConstraint("role IN ('editor', 'reviewer', 'admin')", name="role"),
)

staff_event = Table(
    "staff_event", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    # Who: the account (kept when it is disabled), or None for someone who is not one (a failed sign-in).
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=True),
    Column("actor", String(64), nullable=False),  # the account's name, or what the CLI knows of the operator
    Column("action", String(32), nullable=False),  # e.g. sign-in, sign-in-failed, sign-out, staff-added
    Column("detail", Text, nullable=True),
    Column("client_hash", String(64), nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_staff_event_staff", "staff_id", "at"),
)

block_change = Table(
    "block_change", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column("block", String(200), nullable=False),  # <team>/<file name without .mjml>
    Column("team", String(64), nullable=False),
    Column("action", String(16), nullable=False),  # created, edited, approved (set ready)
    Column("version", String(64), nullable=False),  # SHA-256 of the file as written (its ETag)
    Column("previous", String(64), nullable=True),  # the version it replaced (None: a new file)
    # Who wrote this version's text: the editor for an edit; for an approval, which changes the
    # status alone, the author of the version approved (four-eyes: never the approver).
    Column("author", String(64), nullable=False),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),  # who saved it
    Column("actor", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # the block's status after the change
    Column("git_commit", String(64), nullable=True),  # None: the folder is no git work tree
    Column("at", UTCDateTime(), nullable=False),
    CheckConstraint("action IN ('created', 'edited', 'approved')", name="action"),
    Index("ix_block_change_block", "block", "at"),
)
