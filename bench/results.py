"""Benchmark of the results over 1,000,000 click events: the refresh that rolls them up, and the
queries of the results page over the rollups, on SQLite and (with --postgres) PostgreSQL.

Writes a synthetic history as the send and the redirect would: CUSTOMERS customers, EDITIONS
weekly editions each delivered to all of them in 12 variants of 10 of 16 blocks (4 teams), and
CLICKS clicks spread over the editions, a few percent of them link-scanner sweeps. Then times
``refresh(everything=True)`` (judging every click and writing every rollup) and, REPEAT times,
the figures the results page shows: the trend over the editions, the latest edition by block,
team, link, segment and product group, one team's blocks, and the bounce and complaint rates of
the editions (the reports of BOUNCED of the deliveries each; the query as the page runs it, every
edition refreshed after its send, and the ledger count an edition still sending needs, for one
edition and for all); then the pages themselves as the app serves them (``/results``, a team's page, a CSV download, ``GET /api/results``). Target
(issue 11): the results page under 500 ms over 1,000,000 events.

    .venv/bin/python bench/results.py [--clicks 1000000] [--customers 50000] [--postgres URL]

With ``--customers 500000`` an edition has 500,000 deliveries (the size the rates must stay fast at).

The PostgreSQL database is emptied first (default URL: postgresql+psycopg://postgres@127.0.0.1/test).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, text

from preferences.database import make_engine, upgrade
from preferences.models import customer_table
from preferences.suppression.tables import COMPLAINT, HARD, SOFT, bounce_report
from service.results.deliverability import deliverability_by_edition, sent_in_ledger
from service.results.figures import Period, results_by
from service.results.refresh import refresh
from service.results.tables import click
from service.sending.contents import block_group, variant_block
from service.sending.tables import delivery, send_run

ROOT = Path(__file__).resolve().parent.parent
EDITIONS = 8
SEGMENTS = ("everyone", "vip", "lapsed", "first-buyers", "active-customers", "new-subscribers")
TEAMS = ("product-news", "advice", "offers", "brand")
BLOCKS = [f"{TEAMS[n % 4]}/block-{n:02d}" for n in range(16)]
GROUPS = ("garden", "kitchen", "fashion", "outdoor", "home")
REPEAT = 5
CHUNK = 20_000
# Of each edition's deliveries, the share reported (hard, soft, complaint), and how many of the
# reports are a second report about the same recipient.
BOUNCED = {HARD: 0.015, SOFT: 0.03, COMPLAINT: 0.0008}
REPEATED = 0.2


def history(engine, customers: int, clicks: int, seed: int = 11) -> date:
    """Write the synthetic history; returns the latest edition's date."""
    luck = random.Random(seed)
    now = datetime.now(timezone.utc)
    days = [date(2026, 11, 23) - timedelta(weeks=n) for n in range(EDITIONS)][::-1]
    variants = [f"{segment}/{locale}" for segment in SEGMENTS for locale in ("de", "en")]
    held = {v: sorted(luck.sample(BLOCKS, 10)) for v in variants}
    of = {n: variants[n % len(variants)] for n in range(1, customers + 1)}
    with engine.begin() as conn:
        _chunks(conn, customer_table, ({"id": n, "public_id": f"pub{n:019d}", "external_id": f"CRM-{n}",
                                        "email": f"k{n}@example.com", "locale": "de", "attributes": {},
                                        "status": "active", "created_at": now, "updated_at": now}
                                       for n in range(1, customers + 1)))
        for day in days:
            sent = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=8)
            conn.execute(insert(send_run).values(template="weekly", edition_date=day, plan_complete=True,
                                                 started_at=sent, updated_at=sent, completed_at=sent))
            _chunks(conn, delivery, ({"template": "weekly", "edition_date": day, "customer_id": n, "state": "sent",
                                      "segment": of[n].split("/")[0], "variant": of[n], "attempts": 1,
                                      "updated_at": sent} for n in range(1, customers + 1)))
            conn.execute(insert(variant_block), [
                {"template": "weekly", "edition_date": day, "variant": v, "owner": owner, "team": owner.split("/")[0],
                 "slot": "main", "title": owner.split("/")[1], "position": i + 1}
                for v in variants for i, owner in enumerate(held[v])])
            conn.execute(insert(block_group), [
                {"template": "weekly", "edition_date": day, "owner": owner, "product_group": group}
                for n, owner in enumerate(BLOCKS) for group in {GROUPS[n % 5], GROUPS[(n * 3) % 5]}])
        _chunks(conn, click, _clicks(luck, days, of, held, customers, clicks))
        _chunks(conn, bounce_report, _reports(luck, days, customers, now))
    return days[-1]


def _reports(luck: random.Random, days, customers: int, now: datetime):
    for day in days:
        for kind, share in BOUNCED.items():
            for i, n in enumerate(luck.sample(range(1, customers + 1), int(customers * share))):
                for again in range(2 if i < customers * share * REPEATED else 1):
                    yield {"report_key": f"mailbox:<{kind}.{day}.{n}.{again}@mx> k{n}@example.com", "kind": kind,
                           "source": "mailbox", "address": f"k{n}@example.com", "customer_id": n,
                           "template": "weekly", "edition_date": day, "status": None, "reported_at": now,
                           "recorded_at": now}


def _clicks(luck: random.Random, days, of, held, customers: int, total: int):
    made = 0
    while made < total:
        day = luck.choice(days)
        n = luck.randint(1, customers)
        sent = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=8)
        owners = held[of[n]]
        sweep = luck.random() < 0.01  # a gateway opening every link of the message
        at = sent + (timedelta(seconds=luck.uniform(1, 4)) if sweep else timedelta(minutes=luck.expovariate(1 / 300)))
        for i, owner in enumerate(owners if sweep else [luck.choice(owners)]):
            yield {"template": "weekly", "edition_date": day, "customer": f"pub{n:019d}", "owner": owner,
                   "team": owner.split("/")[0], "link_index": luck.randint(0, 2), "url": f"https://shop.example/{owner}",
                   "segment": of[n].split("/")[0], "variant": of[n],
                   "clicked_at": at + timedelta(milliseconds=200 * i), "client_hash": f"{n:064x}"}
            made += 1
            if made == total:
                return


def _chunks(conn, table, rows) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            conn.execute(insert(table), batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)


def page_figures(engine, latest: date) -> dict[str, float]:
    """Seconds for each set of figures the results page shows (the median of REPEAT runs)."""
    trend = Period("weekly", latest - timedelta(weeks=EDITIONS - 1), latest)
    edition = Period("weekly", latest, latest)
    queries = {
        "trend": lambda c: results_by(c, trend, "edition"),
        "by_block": lambda c: results_by(c, edition, "block"),
        "by_team": lambda c: results_by(c, edition, "team"),
        "by_link": lambda c: results_by(c, edition, "link"),
        "by_segment": lambda c: results_by(c, edition, "segment"),
        "by_group": lambda c: results_by(c, edition, "product-group"),
        "team_blocks": lambda c: results_by(c, trend, "block", team="offers"),
        "deliverability": lambda c: deliverability_by_edition(c, trend),
    }
    # Not on the page when every edition is refreshed: the count of an edition still sending,
    # and of all of them (nothing refreshed since the sends).
    ledger_counts = {
        "ledger_count_one": lambda c: sent_in_ledger(c, "weekly", [latest]),
        "ledger_count_all": lambda c: sent_in_ledger(c, "weekly", [latest - timedelta(weeks=n)
                                                                    for n in range(EDITIONS)]),
    }
    queries_and_counts = {**queries, **ledger_counts}
    timings: dict[str, list[float]] = {name: [] for name in queries_and_counts}
    for _ in range(REPEAT):
        with engine.connect() as conn:
            for name, query in queries_and_counts.items():
                started = time.perf_counter()
                assert query(conn), name
                timings[name].append(time.perf_counter() - started)
    return {name: statistics.median(found) for name, found in timings.items()}


def check_rates(engine, latest: date, customers: int) -> None:
    """The rates the page shows are the reports written (each recipient once) over the deliveries."""
    with engine.connect() as conn:
        found = deliverability_by_edition(conn, Period("weekly", latest, latest))[latest]
    assert (found.sent, found.hard, found.soft, found.complaints) == (
        customers, *(int(customers * BOUNCED[kind]) for kind in (HARD, SOFT, COMPLAINT))), found


def page_requests(url: str) -> dict[str, float]:
    """Seconds for the results pages as a browser gets them (the app in process, median of REPEAT)."""
    from starlette.testclient import TestClient

    from service.settings import Settings
    from service.web.app import create_app

    app = create_app(Settings(database_url=url, content_dir=ROOT / "content", api_keys=(("bench", "bench-key"),)))
    pages = {"page": "/results", "team_page": "/results/team/offers", "csv": "/results.csv?by=block",
             "api": "/api/results?by=block"}
    timings: dict[str, list[float]] = {name: [] for name in pages}
    with TestClient(app, client=("127.0.0.1", 50000)) as client:  # a staff browser on this machine
        for _ in range(REPEAT):
            for name, path in pages.items():
                started = time.perf_counter()
                response = client.get(path, headers={"Authorization": "Bearer bench-key"})
                timings[name].append(time.perf_counter() - started)
                assert response.status_code == 200, (path, response.status_code)
    return {name: statistics.median(found) for name, found in timings.items()}


def run(url: str, customers: int, clicks: int) -> dict:
    engine = make_engine(url)
    started = time.perf_counter()
    latest = history(engine, customers, clicks)
    written = time.perf_counter() - started
    with engine.begin() as conn:  # as autovacuum would have by then: the planner sees real sizes
        conn.exec_driver_sql("ANALYZE")
    done = refresh(engine, everything=True)
    figures = page_figures(engine, latest)
    check_rates(engine, latest, customers)
    engine.dispose()
    served = page_requests(url)
    return {"database": url.split(":")[0].split("+")[0], "clicks": clicks, "history_write_s": round(written, 1),
            "refresh_s": round(done.seconds, 2), "judged": done.judged,
            "customers": customers,
            "figures_ms": round(sum(s for name, s in figures.items() if not name.startswith("ledger")) * 1000, 1),
            **{f"{name}_ms": round(s * 1000, 1) for name, s in figures.items()},
            **{f"http_{name}_ms": round(s * 1000, 1) for name, s in served.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--postgres", nargs="?", const="postgresql+psycopg://postgres@127.0.0.1/test")
    args = parser.parse_args()
    found = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'results.db'}"
        upgrade(url)
        found.append(run(url, args.customers, args.clicks))
    if args.postgres:
        engine = make_engine(args.postgres)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        upgrade(args.postgres)
        found.append(run(args.postgres, args.customers, args.clicks))
    for figures in found:
        print(f"{figures['database']}: {figures['clicks']:,} clicks written in {figures['history_write_s']} s; "
              f"refresh {figures['refresh_s']} s ({figures['judged']:,} judged); the page's figures "
              f"{figures['figures_ms']} ms (" + ", ".join(f"{k[:-3]} {v}" for k, v in figures.items()
                                                         if k.endswith("_ms") and not k.startswith(("http", "fig", "led")))
              + f"); an edition still sending counted in the ledger {figures['ledger_count_one_ms']} ms, "
              f"all {figures['ledger_count_all_ms']} ms"
              + "; over HTTP: " + ", ".join(f"{k[5:-3]} {v} ms" for k, v in figures.items() if k.startswith("http")))
    print(json.dumps({"runs": found, "target_page_ms": 500}))


if __name__ == "__main__":
    main()
