"""Benchmark of the welcome mail's planning: what `newsletter send --due` adds to every cron run.

Writes CUSTOMERS customers who signed up and confirmed over the past DAYS days (one opt-in row
each, a tenth of them with a second, earlier confirmation: they came back), and the ledger's rows
of the series for everyone confirmed before (the welcome before today, the tips' third day before). Then times, as cron does:
looking at every triggered edition (``due_triggered``: both demo steps, each its max_late plus the
reported days), planning each (``plan_triggered``: one INSERT ... SELECT), first with today's
confirmations still to plan and then again with nothing new (the cron run a few minutes later).

    .venv/bin/python bench/welcome.py [--customers 300000] [--days 300] [--postgres URL]

Without --postgres the database is a SQLite file in a temporary folder; a PostgreSQL database is
emptied first. Ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text

from preferences.database import make_engine, upgrade
from preferences.models import customer_table, preference_table
from preferences.optin.tables import opt_in
from preferences.utc import utcnow
from service.content.check import load_content
from service.sending.tables import delivery
from service.sending.due import due_triggered, plan_triggered

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 20_000


def prepare(url: str, customers: int, days: int) -> int:
    """The customers, their confirmations and their welcomes; how many confirmed today."""
    upgrade(url)
    engine = make_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE outbox, opt_in, delivery, send_run, consent_event, preference, customer "
                              "RESTART IDENTITY CASCADE"))
        for low in range(1, customers + 1, CHUNK):
            ids = range(low, min(low + CHUNK, customers + 1))
            conn.execute(insert(customer_table), [
                dict(id=n, public_id=f"pub{n:018d}A", external_id=f"signup:{n}", email=f"reader.{n}@example.com",
                     locale="de" if n % 4 else "en", attributes={}, status="active", created_at=now, updated_at=now)
                for n in ids])
            conn.execute(insert(preference_table), [
                dict(customer_id=n, frequency="weekly", excluded_groups=[], version=1, updated_at=now) for n in ids])
            confirmed = {n: now - timedelta(days=(n % days), minutes=n % 600) for n in ids}
            rows = [dict(customer_id=n, channel="signup", requested_at=at, expires_at=at + timedelta(days=7),
                         confirmed_at=at) for n, at in confirmed.items()]
            rows += [dict(customer_id=n, channel="signup", requested_at=at - timedelta(days=400),
                          expires_at=at - timedelta(days=393), confirmed_at=at - timedelta(days=400))
                     for n, at in confirmed.items() if n % 10 == 7]
            conn.execute(insert(opt_in), rows)
            conn.execute(insert(delivery), [
                dict(template="welcome", edition_date=at.date(), customer_id=n, state="sent", attempts=1,
                     updated_at=now) for n, at in confirmed.items() if n % days != 0 and n % 10 != 7])
            conn.execute(insert(delivery), [
                dict(template="welcome-tips", edition_date=at.date() + timedelta(days=3), customer_id=n, state="sent",
                     attempts=1, updated_at=now) for n, at in confirmed.items() if n % days > 3 and n % 10 != 7])
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    with engine.connect() as conn:
        today = conn.execute(select(func.count()).select_from(opt_in).where(
            opt_in.c.confirmed_at >= now - timedelta(hours=10))).scalar_one()
    engine.dispose()
    return today


def cron_run(engine, content) -> tuple[float, int, int]:
    """One cron run's welcome planning: seconds, editions looked at, rows added."""
    started = time.perf_counter()
    editions = due_triggered(content, utcnow())
    added = sum(plan_triggered(engine, content.templates[e.template], e) for e in editions)
    return time.perf_counter() - started, len(editions), added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--postgres", help="a PostgreSQL URL (emptied first) instead of a SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.postgres or f"sqlite:///{Path(folder) / 'bench.db'}"
        started = time.perf_counter()
        recent = prepare(url, args.customers, args.days)
        print(f"prepared {args.customers:,} confirmed customers over {args.days} days ({recent:,} in the last "
              f"10 hours) in {time.perf_counter() - started:.1f} s")
        content = load_content(ROOT / "content")
        engine = make_engine(url)
        first, editions, added = cron_run(engine, content)
        print(f"first cron run: {editions} editions looked at, {added:,} rows planned in {first * 1000:.0f} ms")
        again, _, added_again = cron_run(engine, content)
        print(f"next cron run (nothing new): {added_again} rows planned in {again * 1000:.0f} ms")
        engine.dispose()
    print(json.dumps({"database": "postgresql" if args.postgres else "sqlite", "customers": args.customers,
                      "editions_looked_at": editions, "planned_first_run": added,
                      "first_run_ms": round(first * 1000, 1), "planned_next_run": added_again,
                      "next_run_ms": round(again * 1000, 1)}))


if __name__ == "__main__":
    main()
