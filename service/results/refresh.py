"""``refresh``: judge the new clicks and write the rollups of every edition that changed since.

An edition changed when it got clicks, deliveries or preference changes attributed to it since
the last refresh (``result_state`` keeps how far that read). Its rollup rows are written anew in
one transaction, by GROUP BY in the database: the pages then read sums over a few hundred rows.
The send calls it when it ends; cron calls ``newsletter results refresh`` for the clicks after.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, String, and_, case, cast, delete, func, insert, literal, select, union

from preferences.models import consent_event_table
from preferences.utc import utcnow
from service.results import audience
from service.results.machines import judge_edition
from service.results.tables import (BLOCK, EDITION, HUMAN, LINK, PRODUCT_GROUP, TEAM, click, result_audience,
                                    result_click, result_state)
from service.sending.contents import block_group
from service.sending.tables import send_run

STATE_ID = 1


@dataclass(frozen=True)
class Refreshed:
    editions: tuple[tuple[str, date], ...]
    judged: int  # clicks judged (human or machine) for the first time
    seconds: float


def refresh(engine: Engine, *, everything: bool = False, oldest: date | None = None) -> Refreshed:
    """Bring the rollups up to date; ``everything``: rewrite every edition's, changed or not.

    Editions before ``oldest`` (the retention's limit) are closed: their clicks are pruned, and
    their rollups, anonymous sums, are kept as they are."""
    started = time.perf_counter()
    with engine.begin() as conn:
        state = conn.execute(select(result_state).where(result_state.c.id == STATE_ID)).one_or_none()
        last_click = conn.execute(select(func.coalesce(func.max(click.c.id), 0))).scalar_one()
        last_event = conn.execute(select(func.coalesce(func.max(consent_event_table.c.id), 0))).scalar_one()
        since = None if everything or state is None else state
        editions = [(t, d) for t, d in changed_editions(conn, since) if oldest is None or d >= oldest]
        judged = 0
        for template, day in editions:
            judged += judge_edition(conn, template, day)
            rewrite_edition(conn, template, day)
        values = {"click_id": last_click, "consent_event_id": last_event, "refreshed_at": utcnow()}
        if state is None:
            conn.execute(insert(result_state).values(id=STATE_ID, **values))
        else:
            conn.execute(result_state.update().where(result_state.c.id == STATE_ID).values(**values))
    return Refreshed(tuple(editions), judged, time.perf_counter() - started)


def refreshed_at(conn: Connection) -> datetime | None:
    """When the rollups were last written, or None if never."""
    return conn.execute(select(result_state.c.refreshed_at).where(result_state.c.id == STATE_ID)).scalar()


def changed_editions(conn: Connection, since) -> list[tuple[str, date]]:
    """The editions with clicks, deliveries or attributed changes after ``since`` (a result_state
    row; None: every edition there is)."""
    c, r, e = click.c, send_run.c, consent_event_table.c
    clicks = select(c.template, c.edition_date)
    runs = select(r.template, r.edition_date)
    events = select(e.template, e.edition_date).where(e.template.is_not(None), e.edition_date.is_not(None))
    if since is not None:
        clicks = clicks.where(c.id > since.click_id)
        runs = runs.where(r.updated_at >= since.refreshed_at)
        events = events.where(e.id > since.consent_event_id)
    found = conn.execute(union(clicks, runs, events)).all()
    return sorted((row[0], row[1]) for row in found)


def rewrite_edition(conn: Connection, template: str, day: date) -> None:
    """Write one edition's rollup rows anew."""
    for table in (result_click, result_audience):
        conn.execute(delete(table).where(table.c.template == template, table.c.edition_date == day))
    for dimension in (EDITION, BLOCK, TEAM, LINK, PRODUCT_GROUP):
        conn.execute(insert(result_click).from_select(_CLICK_COLUMNS, _click_rollup(template, day, dimension)))
    rows = audience.rows(conn, template, day)
    if rows:
        conn.execute(insert(result_audience), rows)


_CLICK_COLUMNS = ("template", "edition_date", "dimension", "key", "segment", "variant", "detail", "clicks",
                  "clickers", "machine_clicks")


def _click_rollup(template: str, day: date, dimension: str):
    c = click.c
    human = c.verdict == HUMAN
    source, detail = click, literal("")
    if dimension == EDITION:
        key = literal("")
    elif dimension == BLOCK:
        key = c.owner
    elif dimension == TEAM:
        key = c.team
    elif dimension == LINK:
        key, detail = c.owner + "#" + cast(c.link_index, String), func.max(c.url)
    else:
        g = block_group.c
        source = click.join(block_group, and_(g.template == c.template, g.edition_date == c.edition_date,
                                              g.owner == c.owner))
        key = g.product_group
    segment, variant = func.coalesce(c.segment, ""), func.coalesce(c.variant, "")
    return (select(c.template, c.edition_date, literal(dimension), key, segment, variant, detail,
                   func.sum(case((human, 1), else_=0)),
                   func.count(func.distinct(case((human, c.customer)))),
                   func.sum(case((human, 0), else_=1)))
            .select_from(source)
            .where(c.template == template, c.edition_date == day)
            .group_by(c.template, c.edition_date, key, segment, variant))
