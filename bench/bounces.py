"""Benchmark of a bounce run: `newsletter bounces process` over a Maildir of 100,000 reports.

Writes CUSTOMERS customers and one edition delivered to all of them (ledger rows with the send's
Message-IDs), and a Maildir of REPORTS report mails as remote servers write them
(tests/bounce_samples.py): hard bounces that return the headers (text/rfc822-headers) or the
whole message (message/rfc822, a newsletter of about 40 KB), soft bounces and delays that quote
nothing and are matched by the VERP return path alone, two-recipient DSNs, feedback-loop
complaints with the original, reports about addresses that are nobody's, and mails that are no
report at all (auto-replies, bounces in prose). Then runs the command as cron would, in a
process of its own, and reads back what it recorded. Target (issue 12): under 60 s.

    .venv/bin/python bench/bounces.py [--reports 100000] [--postgres URL]

Without --postgres the database is a SQLite file in a temporary folder; a PostgreSQL database is
emptied first.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import func, insert, select, text

from preferences.database import make_engine, upgrade
from preferences.models import customer_table, preference_table
from preferences.suppression.return_path import ReturnPath
from preferences.suppression.tables import bounce_report, suppression
from service.assembly.mime import message_id
from service.sending.tables import delivery, send_run

ROOT = Path(__file__).resolve().parent.parent


def _samples():
    """The tests' hand-written report mails (tests/bounce_samples.py), loaded by path: the tests
    folder on sys.path would shadow the packages with its folders of the same names."""
    spec = importlib.util.spec_from_file_location("bounce_samples", ROOT / "tests" / "bounce_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bounce_samples"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


samples = _samples()
Rcpt, arf, dsn, out_of_office, prose_bounce, sample_original = (
    samples.Rcpt, samples.arf, samples.dsn, samples.out_of_office, samples.prose_bounce, samples.sample_original)

EDITION = date(2026, 11, 23)
BOUNCE_ADDRESS = "bounces@nordhaus.example"
KEY = b"bench-link-key-0123456789"
# What the mailbox holds, by share of the reports (a bad day's mailbox: real ones hold fewer
# complaints and more of the plain hard bounces).
MIX = (("hard, headers returned", 0.50), ("hard, whole message returned", 0.10), ("soft or delayed, VERP only", 0.20),
       ("two recipients", 0.03), ("complaint", 0.10), ("nobody's address", 0.03), ("no report", 0.04))
CHUNK = 10_000


def public_id(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(16, "big")).decode().rstrip("=")


def newsletter_body() -> bytes:
    """About 40 KB of quoted-printable HTML, as a returned newsletter carries."""
    line = b"<tr><td style=3D\"padding:0 24px;font-family:Arial\">Neu im Garten: Hochbeete und mehr</td></tr>=\r\n"
    return b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + line * 420


def prepare(url: str, customers: int) -> None:
    engine = make_engine(url)
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE bounce_report, suppression, delivery, send_run, consent_event, preference, "
                              "customer RESTART IDENTITY CASCADE"))
        conn.execute(insert(send_run), [dict(template="weekly", edition_date=EDITION, plan_complete=True,
                                             test_runs_only=False, started_at=now, updated_at=now, completed_at=now)])
        for low in range(1, customers + 1, CHUNK):
            ids = range(low, min(low + CHUNK, customers + 1))
            conn.execute(insert(customer_table), [
                dict(id=n, public_id=public_id(n), external_id=f"CRM-{n}", email=f"kunde.{n}@example.com",
                     locale="de", attributes={}, status="active", created_at=now, updated_at=now) for n in ids])
            conn.execute(insert(preference_table), [dict(customer_id=n, frequency="weekly", excluded_groups=[],
                                                         version=1, updated_at=now) for n in ids])
            conn.execute(insert(delivery), [
                dict(template="weekly", edition_date=EDITION, customer_id=n, state="sent", attempts=1, updated_at=now,
                     message_id=message_id(f"weekly/{EDITION}", public_id(n), "weekly.nordhaus.example"))
                for n in ids])
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('customer', 'id'), (SELECT max(id) FROM customer))"))
    if engine.dialect.name == "postgresql":
        # A database in service has its statistics (autovacuum); the test server runs without
        # it, and a bulk-loaded table without statistics is read whole for every IN list.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()


def write_mailbox(folder: Path, reports: int, customers: int, seed: int = 12) -> dict[str, int]:
    """The Maildir; how many mails of each kind it holds."""
    luck = random.Random(seed)
    paths = ReturnPath(BOUNCE_ADDRESS, [KEY])
    body = newsletter_body()
    for sub in ("new", "cur", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    kinds = [name for name, share in MIX for _ in range(round(share * reports))][:reports]
    luck.shuffle(kinds)
    counts: dict[str, int] = {}
    for index, kind in enumerate(kinds):
        n = luck.randint(1, customers)
        to, verp = f"kunde.{n}@example.com", paths.for_customer(public_id(n))
        original = sample_original(to, message_id(f"weekly/{EDITION}", public_id(n), "weekly.nordhaus.example"), verp)
        report_id = f"<bench.{index}@mx.mailbox.example>"
        if kind == "hard, headers returned":
            raw = dsn(verp, [Rcpt(to)], original=original, report_id=report_id)
        elif kind == "hard, whole message returned":
            whole = original.split(b"Content-Type:", 1)[0] + body
            raw = dsn(verp, [Rcpt(to)], original=whole, returned="message", report_id=report_id)
        elif kind == "soft or delayed, VERP only":
            action, status = luck.choice((("delayed", "4.4.7"), ("failed", "4.2.2"), ("failed", "5.7.1")))
            raw = dsn(verp, [Rcpt(to, action=action, status=status, diagnostic=None)], returned=None,
                      report_id=report_id)
        elif kind == "two recipients":
            other = f"kunde.{luck.randint(1, customers)}@example.com"
            raw = dsn(BOUNCE_ADDRESS, [Rcpt(to), Rcpt(other, status="5.2.1")], original=original, report_id=report_id)
        elif kind == "complaint":
            raw = arf("fbl@nordhaus.example", original=original, mail_from=verp, report_id=report_id)
        elif kind == "nobody's address":
            raw = dsn(BOUNCE_ADDRESS, [Rcpt(f"nobody.{index}@example.org")], returned=None, report_id=report_id)
        else:
            raw = out_of_office(verp) if index % 2 else prose_bounce(verp, to)
        (folder / "new" / f"{1_700_000_000 + index}.M{index}P1.bench").write_bytes(raw)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--postgres", nargs="?", const="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bounces-") as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'newsletter.db'}"
        upgrade(url)
        started = time.perf_counter()
        prepare(url, args.customers)
        box = Path(tmp) / "bounces"
        counts = write_mailbox(box, args.reports, args.customers)
        size = sum(f.stat().st_size for f in (box / "new").iterdir())
        print(f"prepared {args.customers:,} customers and a Maildir of {args.reports:,} mails "
              f"({size / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f} s")
        for kind, n in counts.items():
            print(f"  {kind:32} {n:>8,}")
        env = {**os.environ, "DATABASE_URL": url, "NEWSLETTER_BOUNCE_ADDRESS": BOUNCE_ADDRESS,
               "NEWSLETTER_LINK_KEYS": KEY.decode()}
        newsletter = Path(sys.executable).with_name("newsletter")  # the CLI installed beside this interpreter
        command = [str(newsletter), "bounces", "process", "--from", f"maildir:{box}"]
        started = time.perf_counter()
        run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        print(run.stderr.strip())
        if run.returncode != 0:
            raise SystemExit(f"the bounce run failed with exit code {run.returncode}")
        engine = make_engine(url)
        with engine.connect() as conn:
            recorded = dict(conn.execute(select(bounce_report.c.kind, func.count()).group_by(bounce_report.c.kind)).all())
            suppressed = conn.execute(select(func.count()).select_from(suppression)).scalar()
        engine.dispose()
        started = time.perf_counter()
        again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        second = time.perf_counter() - started
        aside = len(list((box / ".Unparseable" / "cur").iterdir())) if (box / ".Unparseable").exists() else 0
    print(f"bounce run: {args.reports:,} mails in {seconds:.1f} s ({args.reports / seconds:,.0f} mails/s); "
          f"recorded {recorded}, {suppressed:,} addresses suppressed, {aside:,} kept aside")
    print(f"second run over the same mailbox: {second:.1f} s ({again.stderr.strip().splitlines()[0]})")
    print(json.dumps({"bench": "bounces", "database": "postgresql" if args.postgres else "sqlite",
                      "reports": args.reports, "customers": args.customers, "seconds": round(seconds, 2),
                      "mails_per_second": round(args.reports / seconds), "recorded": recorded,
                      "suppressed": suppressed, "kept_aside": aside, "second_run_seconds": round(second, 2),
                      "target_seconds": 60, "ok": seconds < 60}))


if __name__ == "__main__":
    main()
