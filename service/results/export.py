"""Figures as rows of named columns: one shape for the CLI's table, CSV and JSON, and the pages'
downloads. ``measured``: the recipients whose clicks were measured, the click rate's base. By
edition, each row also has its bounce and complaint rates (``deliverability``): ``sent``, the
messages handed over, their base; ``warnings``, the codes of the limits passed. Rates are
fractions (0.125), rounded to six places; a CSV cell that a spreadsheet
would run as a formula is quoted with an apostrophe."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Iterable, Mapping, Sequence

from service.results.deliverability import Deliverability
from service.results.figures import Figures

AUDIENCE_DIMENSIONS = ("edition", "segment", "variant")
AUDIENCE_COLUMNS = ("key", "delivered", "measured", "clickers", "clicks", "click_rate", "machine_clicks", "unsubscribes",
                    "unsubscribe_rate", "narrowed", "narrowed_rate", "changes")
DELIVERABILITY_COLUMNS = ("sent", "hard_bounces", "hard_bounce_rate", "soft_bounces", "soft_bounce_rate", "complaints",
                          "complaint_rate", "warnings")
EDITION_COLUMNS = AUDIENCE_COLUMNS + DELIVERABILITY_COLUMNS
CONTENT_COLUMNS = ("key", "title", "team", "recipients", "measured", "clickers", "clicks", "click_rate", "machine_clicks",
                   "unsubscribes", "unsubscribe_rate", "segments")
LINK_COLUMNS = CONTENT_COLUMNS + ("url",)
GROUPED_COLUMNS = tuple(c for c in CONTENT_COLUMNS if c not in ("title", "team"))  # a team, a product group
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def columns(by: str) -> tuple[str, ...]:
    if by == "edition":
        return EDITION_COLUMNS
    if by in AUDIENCE_DIMENSIONS:
        return AUDIENCE_COLUMNS
    if by in ("team", "product-group"):
        return GROUPED_COLUMNS
    return LINK_COLUMNS if by == "link" else CONTENT_COLUMNS


def record(figures: Figures, by: str, rates: Deliverability | None = None) -> dict:
    """One row of figures as JSON-ready values, by column name; ``rates``: an edition's bounce
    and complaint figures (none: nothing handed over)."""
    values = {"key": figures.key, "title": figures.label, "team": figures.team, "recipients": figures.recipients,
              "delivered": figures.recipients,
              "measured": figures.recipients if figures.measured is None else figures.measured,
              "clickers": figures.clickers, "clicks": figures.clicks,
              "click_rate": round(figures.click_rate, 6), "machine_clicks": figures.machine_clicks,
              "unsubscribes": figures.unsubscribes, "unsubscribe_rate": round(figures.unsubscribe_rate, 6),
              "narrowed": figures.narrowed, "narrowed_rate": round(figures.narrowed_rate, 6),
              "changes": dict(sorted(figures.changes.items())), "segments": list(figures.segments),
              "url": figures.url}
    if by == "edition":
        rates = rates or Deliverability(date.fromisoformat(figures.key))
        values.update(sent=rates.sent, hard_bounces=rates.hard, hard_bounce_rate=round(rates.hard_rate, 6),
                      soft_bounces=rates.soft, soft_bounce_rate=round(rates.soft_rate, 6),
                      complaints=rates.complaints, complaint_rate=round(rates.complaint_rate, 6),
                      warnings=[warning.code for warning in rates.warnings])
    return {name: values[name] for name in columns(by)}


def records(rows: Iterable[Figures], by: str, rates: Mapping[date, Deliverability] | None = None) -> list[dict]:
    """The rows as JSON-ready values; by edition, ``rates`` (``deliverability_by_edition``) is needed."""
    if by == "edition" and rates is None:
        raise ValueError("the figures by edition carry their bounce and complaint rates: pass them")
    if by != "edition":
        return [record(figures, by) for figures in rows]
    return [record(figures, by, rates.get(date.fromisoformat(figures.key))) for figures in rows]


def csv_text(rows: Sequence[Figures], by: str, rates: Mapping[date, Deliverability] | None = None) -> str:
    """The figures as CSV with a header line (lists joined by spaces, choices as name=n); by
    edition with ``rates``, as ``records``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    names = columns(by)
    writer.writerow(names)
    for values in records(rows, by, rates):
        writer.writerow([_cell(values[name]) for name in names])
    return buffer.getvalue()


def _cell(value) -> str:
    if isinstance(value, dict):
        value = " ".join(f"{name}={n}" for name, n in value.items())
    elif isinstance(value, list):
        value = " ".join(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
