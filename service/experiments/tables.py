"""The decision table, as migration 0018 creates it: ``experiment_decision``, one row per
experiment and edition, never changed once written (a decided experiment stays decided).

``arm`` is the winner the held customers get; ``method`` names the test and its correction
(or "hand"), ``p_value`` the winner's corrected p-value against arm a (NULL when a was kept
without any arm being measured), ``figures`` the arms' measured figures the decision saw (JSON:
{arm: [recipients, measured, clickers, clicks]}), ``decided_by`` "auto" or the operator's name."""

from __future__ import annotations

from sqlalchemy import Column, Date, Float, Integer, String, Table, Text, UniqueConstraint
from sqlmodel import SQLModel

import preferences.models  # noqa: F401  (sets the naming convention on the shared metadata)
from preferences.utc import UTCDateTime

AUTO = "auto"  # decided_by of a decision `send --due` made

experiment_decision = Table(
    "experiment_decision", SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column("template", String(64), nullable=False),
    Column("edition_date", Date, nullable=False),
    Column("experiment", String(200), nullable=False),
    Column("arm", String(20), nullable=False),
    Column("method", String(200), nullable=False),
    Column("p_value", Float, nullable=True),
    Column("figures", Text, nullable=False),
    Column("decided_at", UTCDateTime(), nullable=False),
    Column("decided_by", String(100), nullable=False),
    UniqueConstraint("template", "edition_date", "experiment", name="uq_experiment_decision_edition_experiment"),
)
