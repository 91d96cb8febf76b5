"""Benchmark of the click redirect under load: GET /r/{target}/{token}, 8 connections, while the
clicks are recorded.

Serves the real app (`service.web.app.create_app`) with one uvicorn worker on 127.0.0.1 over a
SQLite file of demo customers; every request is a different customer's tracked link (sealed as
the send seals them) to one of a block's links. Runs wrk (Debian: apt-get install wrk) for
DURATION seconds with 8 connections, or 8 Python client threads without it (they share the
cores with the server: trust wrk). Then stops the server (which writes what its recorder still
holds) and counts the click rows against the redirects answered.

Prints redirects/s and latency percentiles, the clicks counted, then one JSON line. Targets
(issue 11): >= 3,000 redirects/s, p99 <= 10 ms, every click counted.

    .venv/bin/python bench/click_redirect.py [--duration 20] [--customers 2000]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, text
from sqlmodel import Session

from preference_pages import CONNECTIONS, KEY, free_port, percentiles, run_threads, serve, wrk_figures
from preferences.customers import CustomerData
from preferences.database import make_engine, upgrade
from preferences.links import LinkSigner, Purpose
from preferences.store import create_customers
from service.assembly.tracking import LinkTracker, edition_token_of
from service.results.tables import click

EDITION = "weekly/2026-11-23"
LINKS = ("https://www.nordhaus.example/winter/jackets?size=m", "https://www.nordhaus.example/sale",
         "https://www.nordhaus.example/advice/knife-care")


def setup(folder: Path, customers: int) -> tuple[str, list[str]]:
    url = f"sqlite:///{folder}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        create_customers(session, [CustomerData(external_id=f"B{i}", email=f"b{i}@example.com", first_name="Bea")
                                   for i in range(customers)], "import", default_locale="de")
        session.commit()
        ids = [row[0] for row in session.execute(text("SELECT public_id FROM customer ORDER BY id"))]
    engine.dispose()
    signer = LinkSigner([KEY.encode()])
    tracker = LinkTracker(signer, "http://bench", EDITION)
    markup = tracker.track("".join(f'<a href="{u}">x</a>' for u in LINKS), "offers/winter-jackets", "offers")
    sealed = re.findall(r"/r/([^/]+)/", markup)
    return url, [f"/r/{sealed[i % len(sealed)]}/{edition_token_of(signer, public_id, EDITION)}"
                 for i, public_id in enumerate(ids)]


def with_wrk(port: int, paths: list[str], duration: int) -> dict:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text("paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
                      "counter = 0\nrequest = function()\n  counter = counter + 1\n"
                      "  return wrk.format('GET', paths[(counter % #paths) + 1])\nend\n")
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "-s", str(script),
                              f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    finally:
        script.unlink()
    answered = int(re.search(r"(\d+) requests in", out).group(1))
    return {"client": "wrk", **wrk_figures(out), "answered": answered}


def with_threads(port: int, paths: list[str], duration: int) -> dict:
    def work(conn, n, state):
        state["i"] = state.get("i", n) + CONNECTIONS
        started = time.perf_counter()
        conn.request("GET", paths[state["i"] % len(paths)])
        response = conn.getresponse()
        response.read()
        return response.status == 302, time.perf_counter() - started
    latencies, errors, elapsed = run_threads(port, duration, work)
    return {"client": "python threads", "requests_per_s": round(len(latencies) / elapsed, 1),
            **percentiles(latencies), "errors": errors, "answered": len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-click-"))
    try:
        url, paths = setup(folder, args.customers)
        port = free_port()
        server = serve(url, port)
        try:
            run = with_wrk if shutil.which("wrk") else with_threads
            warm = run(port, paths, 2)
            got = run(port, paths, args.duration)
        finally:
            server.send_signal(signal.SIGTERM)  # a graceful stop: the recorder writes what it holds
            server.wait(30)
        engine = make_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(click)).scalar_one()
        engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    answered = warm["answered"] + got["answered"]
    # wrk counts the answers it read; the server may have answered (and recorded) a few more
    # that were in flight when wrk stopped, so "lost" is what is missing, never negative.
    lost = max(0, answered - rows)
    print(f"click redirect, 1 uvicorn worker, SQLite, {args.customers} customers, {CONNECTIONS} connections, "
          f"{args.duration} s")
    print(f"  GET /r/... ({got['client']}): {got['requests_per_s']:,.0f} redirects/s, p50 {got['p50_ms']} ms, "
          f"p99 {got['p99_ms']} ms, errors {got['errors']}")
    print(f"  clicks recorded {rows:,} for {answered:,} redirects answered (lost {lost})")
    targets = {"redirects_per_s": got["requests_per_s"] >= 3000, "p99": got["p99_ms"] <= 10, "all_counted": lost == 0}
    print(f"  targets: {targets}")
    print(json.dumps({"redirect": got, "answered": answered, "recorded": rows, "lost": lost, "targets_met": targets,
                      "duration_s": args.duration, "customers": args.customers, "connections": CONNECTIONS}))


if __name__ == "__main__":
    main()
