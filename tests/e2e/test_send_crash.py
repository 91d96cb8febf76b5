"""Crash test: `newsletter send` with local workers that are SIGKILLed at random points (single
workers, and the whole process group), then run again until complete; into a Maildir, and into
a spool (one mbox file per batch). And the two phases of a tested edition (`send --test 10%`,
then `send --due` sending the winner), killed in the test phase, in the decision and in the
winner phase.

Afterwards every due customer has exactly one message at the destination, none is missing, none
is there twice, and no one who is not due got one. Customers who unsubscribe between two runs get
nothing more (at most the message they got before)."""

from __future__ import annotations

import email.parser
import mailbox
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from crash import kill_group

from preferences.database import make_engine, upgrade
from preferences.due import due_reason

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from send_fixtures import CONTENT, EDITION, add_customers, set_status  # noqa: E402

from service.sending import ledger  # noqa: E402

pytestmark = pytest.mark.slow

CUSTOMERS = 20_000
FREQUENCIES = ("weekly",) * 8 + ("biweekly", "monthly")


def frequency(n: int) -> str:
    return FREQUENCIES[n % 10]


def paused(n: int):
    return date(2026, 12, 7) if n % 37 == 0 else None


def status(n: int) -> str:
    return "unsubscribed" if n % 53 == 0 else "active"


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def start(db_url: str, target: str, *, command: tuple[str, ...] = ("weekly", "--date", EDITION.isoformat()),
          batch_size: int = 250) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=db_url, NEWSLETTER_CONTENT_DIR=str(CONTENT))
    return subprocess.Popen(
        [sys.executable, "-c", "from service.cli.main import main; main()", "send", *command,
         "--to", target, "--workers", "2", "--lease", "1.5", "--batch-size", str(batch_size)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def delivered(kind: str, box: Path) -> int:
    """Files at the destination so far (messages in a Maildir, batches in a spool)."""
    if kind == "maildir":
        return len(os.listdir(box / "new")) if (box / "new").exists() else 0
    return sum(n.endswith(".mbox") for n in os.listdir(box)) if box.exists() else 0


def recipients_in(kind: str, box: Path) -> Counter:
    """Messages at the destination, counted by customer number (from the To header)."""
    found = Counter()
    if kind == "maildir":
        parser = email.parser.BytesHeaderParser()
        headers = []
        for name in os.listdir(box / "new"):
            with open(box / "new" / name, "rb") as handle:
                headers.append(parser.parse(handle))
    else:
        headers = []
        for name in sorted(n for n in os.listdir(box) if n.endswith(".mbox")):
            spool = mailbox.mbox(box / name, create=False)
            headers += list(spool)
            spool.close()
    for message in headers:
        found[int(message["To"].split("kunde.")[1].split("@")[0])] += 1
    return found


@pytest.mark.parametrize("kind", ["maildir", "spool"])
def test_killed_workers_and_reruns_deliver_exactly_once(tmp_path, kind):
    rng = random.Random(int(os.environ.get("SEND_CRASH_SEED", "5")))  # another seed, other kill points
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    engine = make_engine(url)
    ids = add_customers(engine, CUSTOMERS, frequency=frequency, paused_until=paused, status=status)
    box = tmp_path / "outbox"
    started = time.monotonic()
    kills, runs, unsubscribed_later = Counter(), 0, set()
    while True:
        runs += 1
        assert runs < 25, f"no complete run after {runs - 1} runs ({kills})"
        process = start(url, f"{kind}:{box}")
        final = runs > 4  # the last runs go undisturbed: the test is about what they repair
        # The kills start once this run delivers (a slow start on a loaded machine would
        # otherwise kill only idle workers), at the latest after 15 s.
        begun, count = time.monotonic(), delivered(kind, box)
        while not final and process.poll() is None and delivered(kind, box) == count \
                and time.monotonic() < begun + 15:
            time.sleep(0.05)
        deadline = time.monotonic() + rng.uniform(0.5, 2.5)
        while not final and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
            workers = children(process.pid)
            if workers and rng.random() < 0.08:
                os.kill(rng.choice(workers), signal.SIGKILL)  # the parent starts a new one
                kills["worker"] += 1
        if process.poll() is None and not final:
            kill_group(process.pid)  # the whole run: parent and workers
            kills["run"] += 1
        output = process.communicate(timeout=120)[0].decode(errors="replace")
        if runs == 2:
            # Between two runs some customers unsubscribe: whoever was not sent yet gets nothing.
            unsubscribed_later = set(rng.sample([n for n in ids if status(n) == "active"], 50))
            for n in unsubscribed_later:
                set_status(engine, n, "unsubscribed")
        if process.returncode == 0:
            break
        assert process.returncode in (-signal.SIGKILL, 3), output[-2000:]
    elapsed = time.monotonic() - started
    assert "complete" in output, output[-2000:]

    # What the ledger says.
    key = ledger.EditionKey("weekly", EDITION)
    with engine.connect() as conn:
        rows = {r.customer_id: r for r in ledger.deliveries_of(conn, key)}
        assert ledger.get_run(conn, key).completed_at is not None
    assert {r.state for r in rows.values()} <= {"sent", "skipped"}
    assert any(r.attempts > 1 for r in rows.values())  # claims of killed workers were taken over
    sent = {n for n, r in rows.items() if r.state == "sent"}

    # What is at the destination: parsed back, counted by recipient.
    recipients = recipients_in(kind, box)
    assert [n for n, k in recipients.items() if k > 1] == []  # none twice
    assert set(recipients) == sent  # the ledger and the destination agree

    # Who was due, decided independently of the send.
    previous = date(2026, 11, 16)
    due = {n for n in ids if status(n) == "active"
           and due_reason("active", frequency(n), paused(n), EDITION, None, previous) is None}
    steady = due - unsubscribed_later
    assert steady <= sent  # none missing
    assert sent <= due  # no one who is not due
    late_sent = sent & unsubscribed_later
    # The others were skipped at handover, or not planned at all (the plan had not reached them).
    assert all(n not in rows or (rows[n].state, rows[n].reason) == ("skipped", "unsubscribed")
               for n in (due & unsubscribed_later) - late_sent)
    print(f"\n{len(sent)} sent of {len(ids)} customers in {runs} runs, {elapsed:.1f} s; kills {dict(kills)}; "
          f"{len(late_sent)} of {len(unsubscribed_later)} who unsubscribed later had been sent before")
    engine.dispose()


def send_with_kills(rng: random.Random, url: str, box: Path, command: tuple[str, ...], kills: Counter,
                    phase: str, within: tuple[float, float], undisturbed_after: int = 2) -> str:
    """Run `newsletter send ...` into the Maildir, SIGKILLing workers and the whole run at random
    points while it delivers, again until a run ends by itself with exit 0; its output."""
    for runs in range(1, 20):
        process = start(url, f"maildir:{box}", command=command, batch_size=25)
        final = runs > undisturbed_after
        begun, count = time.monotonic(), delivered("maildir", box)
        while not final and process.poll() is None and delivered("maildir", box) == count \
                and time.monotonic() < begun + 15:
            time.sleep(0.02)
        deadline = time.monotonic() + rng.uniform(*within)
        while not final and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
            workers = children(process.pid)
            if workers and rng.random() < 0.1:
                os.kill(rng.choice(workers), signal.SIGKILL)
                kills[f"{phase} worker"] += 1
        if process.poll() is None and not final:
            kill_group(process.pid)
            kills[f"{phase} run"] += 1
        output = process.communicate(timeout=120)[0].decode(errors="replace")
        if process.returncode == 0:
            return output
        assert process.returncode in (-signal.SIGKILL, 3), output[-2000:]
    raise AssertionError(f"no run ended by itself ({kills})")


DECIDE_AND_DIE = """
import os, signal, sys
from datetime import date
from preferences.database import for_writes, make_engine
from service.content.check import load_content
from service.experiments.decisions import decide_untested
from service.results.refresh import refresh
from service.sending.ledger import EditionKey
engine = make_engine(sys.argv[1])
refresh(engine)
with for_writes(engine).begin() as conn:
    decide_untested(conn, load_content(sys.argv[2]), EditionKey("weekly", date.fromisoformat(sys.argv[3])))
    if sys.argv[4] == "before-commit":
        os.kill(os.getpid(), signal.SIGKILL)
os.kill(os.getpid(), signal.SIGKILL)  # committed, not released
"""


def test_a_tested_edition_killed_in_each_phase_sends_everyone_once(tmp_path):
    from sqlalchemy import select

    from service.experiments.tables import experiment_decision
    from tested_sends import EXPERIMENT, KEY, click_log, pass_decide_after

    rng = random.Random(int(os.environ.get("SEND_CRASH_SEED", "5")))
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    engine = make_engine(url)
    ids = add_customers(engine, 600)
    box, kills, started = tmp_path / "outbox", Counter(), time.monotonic()
    # The test phase, killed as it sends the sample.
    output = send_with_kills(rng, url, box, ("weekly", "--date", EDITION.isoformat(), "--test", "10%"), kills,
                             "test", (0.0, 0.1))  # the sample is small: kill it as soon as it delivers
    assert "wait for the decision" in output, output[-2000:]
    assert kills["test run"], kills  # the test phase was killed while it sent
    with engine.connect() as conn:
        rows = {r.customer_id: r for r in ledger.deliveries_of(conn, KEY)}
    sample = {n for n, r in rows.items() if r.phase == "test"}
    assert {rows[n].state for n in sample} == {"sent"} and {r.state for n, r in rows.items() if n not in sample} == {"held"}
    assert set(recipients_in("maildir", box)) == sample
    click_log(engine, lambda n, arm: n % 10 < (6 if arm == "b" else 1))  # b clearly better
    pass_decide_after(engine)
    # The decision, killed before its commit (nothing recorded) and after it (not released).
    for moment, decided in (("before-commit", 0), ("after-commit", 1)):
        died = subprocess.run([sys.executable, "-c", DECIDE_AND_DIE, url, str(CONTENT), EDITION.isoformat(), moment],
                              capture_output=True, env=dict(os.environ))
        assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
        with engine.connect() as conn:
            assert len(conn.execute(select(experiment_decision)).all()) == decided
            assert ledger.get_run(conn, KEY).released_at is None
            assert {r.state for r in ledger.deliveries_of(conn, KEY)} == {"sent", "held"}
    with engine.connect() as conn:
        [decision] = conn.execute(select(experiment_decision)).all()
    assert decision.arm == "b"
    # The winner phase, killed as it sends; cron runs again until the edition is complete.
    output = send_with_kills(rng, url, box, ("--due", "--max-late", "0"), kills, "winner", (0.1, 1.0))
    with engine.connect() as conn:
        rows = {r.customer_id: r for r in ledger.deliveries_of(conn, KEY)}
        assert ledger.get_run(conn, KEY).completed_at is not None, output[-2000:]
        assert conn.execute(select(experiment_decision)).all() == [decision]  # decided once, kept
    assert kills["winner run"], kills
    recipients = recipients_in("maildir", box)
    assert [n for n, k in recipients.items() if k > 1] == []  # nobody twice
    assert set(recipients) == set(ids) == {n for n, r in rows.items() if r.state == "sent"}  # nobody missed
    assert {n for n, r in rows.items() if r.phase == "test"} == sample  # the sample got no winner mail
    assert {rows[n].arms for n in set(ids) - sample} == {f"{EXPERIMENT}=b"}  # the rest only the winner
    print(f"\n{len(ids)} sent ({len(sample)} in the sample) in {time.monotonic() - started:.1f} s; kills {dict(kills)}")
    engine.dispose()
