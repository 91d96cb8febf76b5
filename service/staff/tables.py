"""The staff's tables, as the migrations create them (``migrations/versions/0012_staff.py``;
``tests/service/staff/test_accounts.py`` compares the two)."""

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
