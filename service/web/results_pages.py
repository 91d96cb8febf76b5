"""The results pages of the staff area: what the readers did with the editions.

- ``GET /results``: one template over a range of editions (default: the last 8 with results):
  per edition delivered, clickers, clicks, click rate, machine clicks, churn and the narrower
  choices made instead, with a trend chart and a churn chart, and beside them the bounce and
  complaint rates, with a warning in words for each edition over a limit
  (``service.results.deliverability``); then one edition (default the latest) by block (ranked,
  with a chart), team and segment.
  Then the template's experiments (``service.experiments.listing``): per tested edition and arm
  its recipients, clickers, unique click rate, confidence against arm a and the decision.
- ``GET /results/team/{team}``: one team's blocks ranked over the range, with the segments each
  reached, and its links.
- ``GET /results.csv?by=...``: any of those tables as CSV, the same figures.

Every figure is read from the rollups (``service.results.figures``), which ``newsletter results
refresh`` writes; the page says when that last ran. Staff only, like the preview; GET only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from sqlalchemy import Engine
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from service.content.model import Content
from service.experiments.listing import experiment_rows
from service.results.deliverability import deliverability_by_edition
from service.results.export import csv_text
from service.results.figures import (BY, Figures, Period, editions_with_results, results_by,
                                     templates_with_results)
from service.results.refresh import refreshed_at
from service.web import charts
from service.web.staff import STAFF_HEADERS, authorize_staff, page

TREND_EDITIONS = 8
_PARAMS = {"template", "from", "to", "edition"}


@dataclass(frozen=True)
class Selection:
    """What a results page shows: a template, a range of its editions, one edition of them."""

    template: str
    templates: tuple[str, ...]
    editions: tuple[date, ...]  # the editions with results in the range, oldest first
    edition: date | None
    refreshed: datetime | None

    @property
    def period(self) -> Period:
        return Period(self.template, self.editions[0], self.editions[-1])

    @property
    def one(self) -> Period:
        return Period(self.template, self.edition, self.edition)

    def query(self, **extra) -> dict:
        found = {"template": self.template}
        if self.editions:
            found.update({"from": self.editions[0].isoformat(), "to": self.editions[-1].isoformat()})
        if self.edition:
            found["edition"] = self.edition.isoformat()
        return {**found, **extra}


class ResultsPages:
    def __init__(self, engine: Engine, password: str | None,
                 content: Callable[[], Content | None] = lambda: None) -> None:
        self.engine, self.password, self.content = engine, password, content  # content: the experiments' arms

    def routes(self) -> list[Route]:
        return [Route("/results", self.index, methods=["GET"], name="results"),
                Route("/results/team/{team}", self.team, methods=["GET"], name="results_team"),
                Route("/results.csv", self.csv, methods=["GET"], name="results_csv")]

    # -- endpoints (sync: Starlette runs them in a thread) -------------------------------------
    def index(self, request: Request) -> HTMLResponse:
        authorize_staff(request, self.password)
        with self.engine.connect() as conn:
            chosen = self._select(conn, request, _PARAMS)
            content = self.content()
            context: dict = {"s": chosen, "request": request, "url": _url_maker(request, chosen),
                             "experiments": experiment_rows(conn, content, chosen.template) if content else []}
            if chosen.editions:
                trend = results_by(conn, chosen.period, "edition")
                blocks = results_by(conn, chosen.one, "block")
                days = [f.key for f in trend]
                rates = {day.isoformat(): found for day, found in deliverability_by_edition(conn, chosen.period).items()}
                context.update(
                    trend=trend, blocks=blocks, rates=rates,
                    warned=[(day, found) for day, found in rates.items() if found.warnings], teams=results_by(conn, chosen.one, "team"),
                    segments=results_by(conn, chosen.one, "segment"),
                    trend_chart=_both(charts.trend, days, [f.click_rate for f in trend],
                                      f"Click rate per edition, {chosen.template}") if len(trend) > 1 else None,
                    churn_chart=_both(charts.churn, days, [f.unsubscribe_rate for f in trend],
                                      [f.narrowed_rate for f in trend], f"Churn per edition, {chosen.template}"),
                    block_chart=_both(charts.block_rates, [_label(f) for f in blocks],
                                      [f.click_rate for f in blocks],
                                      f"Click rate per block, {chosen.template} {chosen.edition}"))
        return HTMLResponse(page("results.html", **context), headers=STAFF_HEADERS)

    def team(self, request: Request) -> HTMLResponse:
        authorize_staff(request, self.password)
        team = request.path_params["team"]
        with self.engine.connect() as conn:
            chosen = self._select(conn, request, _PARAMS)
            blocks = results_by(conn, chosen.period, "block", team=team) if chosen.editions else []
            links = results_by(conn, chosen.period, "link", team=team) if chosen.editions else []
        if chosen.editions and not blocks:
            raise HTTPException(404, f"No results for a team {team!r} in {chosen.template}.")
        chart = _both(charts.block_rates, [_label(f) for f in blocks], [f.click_rate for f in blocks],
                      f"Click rate per block of {team}") if blocks else None
        return HTMLResponse(page("results_team.html", s=chosen, team=team, blocks=blocks, links=links,
                                 block_chart=chart, url=_url_maker(request, chosen)), headers=STAFF_HEADERS)

    def csv(self, request: Request) -> Response:
        authorize_staff(request, self.password)
        by = request.query_params.get("by", "edition")
        if by not in BY:
            raise HTTPException(400, f"by= must be one of {', '.join(BY)}, not {by!r}.")
        team = request.query_params.get("team") or None
        with self.engine.connect() as conn:
            chosen = self._select(conn, request, _PARAMS | {"by", "team"})
            rates = None
            if not chosen.editions:
                rows: list[Figures] = []
            else:
                rows = results_by(conn, chosen.period if by == "edition" or team else chosen.one, by, team)
            if by == "edition":
                rates = deliverability_by_edition(conn, chosen.period) if chosen.editions else {}
        span = f"{chosen.editions[0]}_{chosen.editions[-1]}" if chosen.editions else "none"
        name = f"results-{chosen.template}-{by}{'-' + team if team else ''}-{span}.csv"
        return Response(csv_text(rows, by, rates), media_type="text/csv; charset=utf-8",
                        headers={**STAFF_HEADERS, "Content-Disposition": f'attachment; filename="{_safe(name)}"'})

    # -- what the query asks for ----------------------------------------------------------------
    def _select(self, conn, request: Request, allowed: set[str]) -> Selection:
        params = request.query_params
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise HTTPException(400, f"Unknown parameter {unknown[0]!r}: this page takes {', '.join(sorted(allowed))}.")
        templates = tuple(templates_with_results(conn))
        template = params.get("template") or ("weekly" if "weekly" in templates or not templates else templates[0])
        if template not in templates and params.get("template"):
            raise HTTPException(400, f"No results for a template {template!r} "
                                     f"(templates with results: {', '.join(templates) or 'none yet'}).")
        found = editions_with_results(conn, template)
        first, last = _day(params, "from"), _day(params, "to")
        if first and last and first > last:
            raise HTTPException(400, f"from= {first} is after to= {last}.")
        if first or last:
            found = [d for d in found if (first is None or d >= first) and (last is None or d <= last)]
        else:
            found = found[-TREND_EDITIONS:]
        edition = _day(params, "edition")
        if edition is not None and edition not in found:
            raise HTTPException(400, f"The edition {edition} has no results in the range shown.")
        return Selection(template, templates, tuple(found), edition or (found[-1] if found else None),
                         refreshed_at(conn))


@dataclass(frozen=True)
class Chart:
    """One chart drawn twice: for a desktop's column and for a phone (the page shows one)."""

    wide: str
    narrow: str


def _both(draw, *args) -> Chart:
    return Chart(draw(*args, width=charts.WIDE), draw(*args, width=charts.NARROW))


def _label(figures: Figures) -> str:
    """A block's name in a chart: its title, and its language where the id ends with one."""
    stem, dot, locale = figures.key.rpartition(".")
    return f"{figures.label} ({locale})" if dot and len(locale) == 2 else figures.label


def _day(params, name: str) -> date | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"{name}= must be a date like 2026-11-23, not {value[:40]!r}.") from None


def _url_maker(request: Request, chosen: Selection):
    """``url(name, **path params, query=...)``: a named route's URL with the page's selection."""
    def url(name: str, query: dict | None = None, **path) -> str:
        return str(request.url_for(name, **path).include_query_params(**chosen.query(**(query or {}))))
    return url


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
