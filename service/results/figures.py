"""The results, read from the rollups: by edition, segment, variant, block, team, link or product
group, over a range of editions. Queries named by intent; every one is a GROUP BY over the
rollup rows of the range (a few hundred per edition), never over the clicks themselves.

A rate is taken over the recipients who got what is measured: a block's over the deliveries
whose variant held the block, a team's over those that held any of its blocks, a product group's
over those that held any block of the group. A click rate counts only the recipients whose clicks
were measured (not those who opted out of click measuring); churn counts every recipient.
Clickers are unique per edition: a reader who clicked a block in two editions counts in both."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Mapping

from sqlalchemy import Connection, and_, func, select

from service.assembly.tracking import LAYOUT
from service.results.tables import (BLOCK, DELIVERED, EDITION, LINK, MEASURED, NARROWED, PRODUCT_GROUP, TEAM,
                                    UNSUBSCRIBED, result_audience, result_click)
from service.sending.contents import block_group, variant_block

BY = ("edition", "segment", "variant", "block", "team", "link", "product-group")


@dataclass(frozen=True)
class Period:
    """The editions of one template from ``first`` to ``last``, both included."""

    template: str
    first: date
    last: date

    def of(self, table):
        return and_(table.c.template == self.template, table.c.edition_date.between(self.first, self.last))


@dataclass(frozen=True)
class Figures:
    """One row of results: what is measured (``key``) and what its recipients did."""

    key: str
    label: str = ""
    team: str = ""
    recipients: int = 0
    measured: int | None = None  # of the recipients, those whose clicks were measured (None: all)
    clickers: int = 0
    clicks: int = 0
    machine_clicks: int = 0
    unsubscribes: int = 0
    narrowed: int = 0  # customers who made a narrower choice (slower, paused, fewer groups) instead
    # The narrower choices made instead of leaving: "frequency:monthly", "paused", "excluded:<group>".
    changes: Mapping[str, int] = field(default_factory=dict)
    segments: tuple[str, ...] = ()  # the segments reached (blocks, teams, links, groups)
    url: str = ""                   # a link's target

    @property
    def click_rate(self) -> float:
        """Unique clickers over the recipients whose clicks were measured."""
        over = self.recipients if self.measured is None else self.measured
        return self.clickers / over if over else 0.0

    @property
    def unsubscribe_rate(self) -> float:
        return self.unsubscribes / self.recipients if self.recipients else 0.0

    @property
    def narrowed_rate(self) -> float:
        return self.narrowed / self.recipients if self.recipients else 0.0


def templates_with_results(conn: Connection) -> list[str]:
    """The templates that have rollups, by name."""
    a = result_audience.c
    return list(conn.execute(select(a.template).where(a.measure == DELIVERED).distinct().order_by(a.template))
                .scalars())


def editions_with_results(conn: Connection, template: str) -> list[date]:
    """The edition dates of ``template`` that have rollups (were sent and refreshed), oldest first."""
    a = result_audience.c
    return list(conn.execute(select(a.edition_date).where(a.template == template, a.measure == DELIVERED)
                             .distinct().order_by(a.edition_date)).scalars())


TREND_EDITIONS = 8  # by edition without dates: the last this many editions


def choose_period(conn: Connection, template: str, by: str, first: date | None = None,
                  last: date | None = None) -> Period | None:
    """The editions asked for: ``first`` to ``last`` where given (either open); else the last
    ``TREND_EDITIONS`` editions with results by edition, the latest one by anything else. None
    when the template has no results yet. ``first`` after ``last`` is a ValueError."""
    if first and last and first > last:
        raise ValueError(f"from {first} is after to {last}")
    if first or last:
        return Period(template, first or date.min, last or date.max)
    found = editions_with_results(conn, template)
    if not found:
        return None
    chosen = found[-TREND_EDITIONS:] if by == "edition" else found[-1:]
    return Period(template, chosen[0], chosen[-1])


def results_by(conn: Connection, period: Period, by: str, team: str | None = None) -> list[Figures]:
    """The figures of ``period`` by one dimension (one of ``BY``); ``team``: only its blocks/links."""
    if by not in BY:
        raise ValueError(f"unknown dimension {by!r}: one of {', '.join(BY)}")
    if by in ("edition", "segment", "variant"):
        return _by_audience(conn, period, by)
    return _by_contents(conn, period, by, team)


def _by_audience(conn: Connection, period: Period, by: str) -> list[Figures]:
    a, r = result_audience.c, result_click.c
    key_a = {"edition": a.edition_date, "segment": a.segment, "variant": a.variant}[by]
    key_r = {"edition": r.edition_date, "segment": r.segment, "variant": r.variant}[by]
    clicks = {row[0]: row[1:] for row in conn.execute(
        select(key_r, func.sum(r.clicks), func.sum(r.clickers), func.sum(r.machine_clicks))
        .where(period.of(result_click), r.dimension == EDITION).group_by(key_r))}
    measures: dict = defaultdict(dict)
    for key, measure, detail, customers in conn.execute(
            select(key_a, a.measure, a.key, func.sum(a.customers))
            .where(period.of(result_audience)).group_by(key_a, a.measure, a.key)):
        measures[key][measure if not detail else f"{measure}:{detail}"] = int(customers)
    rows = []
    for key in sorted(set(measures) | set(clicks)):
        found = measures.get(key, {})
        n_clicks, n_clickers, n_machine = clicks.get(key, (0, 0, 0))
        changes = {name: n for name, n in found.items() if name not in (DELIVERED, MEASURED, UNSUBSCRIBED, NARROWED)}
        text = key.isoformat() if isinstance(key, date) else key
        rows.append(Figures(text, text, recipients=found.get(DELIVERED, 0), measured=found.get(MEASURED, 0),
                            clickers=int(n_clickers),
                            clicks=int(n_clicks), machine_clicks=int(n_machine),
                            unsubscribes=found.get(UNSUBSCRIBED, 0), narrowed=found.get(NARROWED, 0),
                            changes=changes))
    return rows


def _holders(period: Period, by: str):
    """(template, edition_date, variant, key): which variants held each thing measured."""
    vb = variant_block.c
    if by in ("block", "link"):
        return select(vb.template, vb.edition_date, vb.variant, vb.owner.label("key")).where(period.of(variant_block))
    if by == "team":
        return (select(vb.template, vb.edition_date, vb.variant, vb.team.label("key"))
                .where(period.of(variant_block)).distinct())
    g = block_group.c
    return (select(vb.template, vb.edition_date, vb.variant, g.product_group.label("key"))
            .join_from(variant_block, block_group, and_(g.template == vb.template, g.edition_date == vb.edition_date,
                                                        g.owner == vb.owner))
            .where(period.of(variant_block)).distinct())


def _by_contents(conn: Connection, period: Period, by: str, team: str | None) -> list[Figures]:
    a, r, vb = result_audience.c, result_click.c, variant_block.c
    holders = _holders(period, by).subquery()
    reach: dict = defaultdict(lambda: {DELIVERED: 0, MEASURED: 0, UNSUBSCRIBED: 0})
    segments: dict = defaultdict(set)
    for key, measure, segment, customers in conn.execute(
            select(holders.c.key, a.measure, a.segment, func.sum(a.customers))
            .join_from(result_audience, holders, and_(holders.c.template == a.template,
                                                      holders.c.edition_date == a.edition_date,
                                                      holders.c.variant == a.variant))
            .where(period.of(result_audience), a.measure.in_((DELIVERED, MEASURED, UNSUBSCRIBED)))
            .group_by(holders.c.key, a.measure, a.segment)):
        reach[key][measure] += int(customers)
        if measure == DELIVERED and customers:
            segments[key].add(segment)
    labels = {owner: (title, owner_team) for owner, title, owner_team in conn.execute(
        select(vb.owner, func.max(vb.title), func.max(vb.team)).where(period.of(variant_block)).group_by(vb.owner))}
    dimension = {"block": BLOCK, "team": TEAM, "link": LINK, "product-group": PRODUCT_GROUP}[by]
    clicks = {(key, url): (int(n), int(u), int(m)) for key, url, n, u, m in conn.execute(
        select(r.key, r.detail, func.sum(r.clicks), func.sum(r.clickers), func.sum(r.machine_clicks))
        .where(period.of(result_click), r.dimension == dimension).group_by(r.key, r.detail))}
    if by != "link":
        clicks.update({(key, ""): clicks.get((key, ""), (0, 0, 0)) for key in reach})
    rows = []
    for (key, url), (n_clicks, n_clickers, n_machine) in clicks.items():
        owner = key.rpartition("#")[0] if by == "link" else key
        title, owner_team = labels.get(owner, ("", ""))
        if by == "team":
            title, owner_team, key = key or "Layout", key, key or LAYOUT
        if team is not None and owner_team != team:
            continue
        holder = reach.get(owner, {DELIVERED: 0, MEASURED: 0, UNSUBSCRIBED: 0})
        rows.append(Figures(key, title or key, owner_team, holder[DELIVERED], holder[MEASURED], n_clickers, n_clicks,
                            n_machine, holder[UNSUBSCRIBED], segments=tuple(sorted(segments.get(owner, ()))),
                            url=url))
    return sorted(rows, key=lambda f: (-f.click_rate, -f.clicks, f.key))
