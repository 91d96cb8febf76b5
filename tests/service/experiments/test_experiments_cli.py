"""`newsletter send --test`, `newsletter experiments` and `experiments decide` as an operator
runs them: the sample goes out, the decision by hand is recorded with who and when, `send --due`
sends the rest only the winner; the clear mistakes are refused with a message and exit 2."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from service.cli.main import app
from service.experiments.tables import experiment_decision
from service.web.app import create_app
from send_fixtures import (CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           settings_for)
from tested_sends import EXPERIMENT, click_log, messages, pass_decide_after, rows

DAY = EDITION.isoformat()


@pytest.fixture
def newsletter(db_url, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    box = f"maildir:{tmp_path / 'box'}"

    def run(*args):
        args = [a.replace("BOX", box) for a in args]
        return CliRunner().invoke(app, list(args))
    return run


def test_test_then_decide_by_hand_then_the_winner(newsletter, engine, tmp_path):  # noqa: F811
    ids = add_customers(engine, 150)
    started = newsletter("send", "weekly", "--date", DAY, "--to", "BOX", "--workers", "0", "--test", "10%")
    assert started.exit_code == 0, started.output
    assert "wait for the decision of advice/heating-costs" in started.output
    sample = {c for c, r in rows(engine).items() if r.state == "sent"}
    assert 0 < len(sample) < 40
    listed = newsletter("experiments")
    assert listed.exit_code == 0 and "testing" in listed.output and EXPERIMENT in listed.output
    # Clear mistakes: refused, nothing recorded.
    for args, words in ((("--arm", "c"), "has no arm 'c'"), (("--arm", "b", "--date", "2026-11-30",
                                                              "--template", "weekly"), "was not sent with --test")):
        refused = newsletter("experiments", "decide", EXPERIMENT, *args)
        assert refused.exit_code == 2 and words in refused.output, refused.output
    refused = newsletter("experiments", "decide", "advice/nothing", "--arm", "b")
    assert refused.exit_code == 2 and "no edition is testing" in refused.output
    again = newsletter("send", "weekly", "--date", DAY, "--to", "BOX", "--workers", "0")  # without --test
    assert again.exit_code == 2 and "is tested (--test 10%)" in again.output
    decided = newsletter("experiments", "decide", EXPERIMENT, "--arm", "b", "--by", "alice")
    assert decided.exit_code == 0, decided.output
    assert "decided: arm b" in decided.output and "by alice" in decided.output
    twice = newsletter("experiments", "decide", EXPERIMENT, "--arm", "a", "--template", "weekly", "--date", DAY)
    assert twice.exit_code == 2 and "decided already: arm b, alice" in twice.output
    # Every experiment decided by hand: cron sends the rest without waiting for decide_after.
    due = newsletter("send", "--due", "--to", "BOX", "--workers", "0", "--max-late", "0")
    assert due.exit_code == 0, due.output
    assert "sending the winners to" in due.output
    found = rows(engine)
    assert {r.state for r in found.values()} == {"sent"}
    assert {found[c].arms for c in set(ids) - sample} == {f"{EXPERIMENT}=b"}
    assert sorted(len(m) for m in messages(tmp_path / "box").values()) == [1] * len(ids)
    with engine.connect() as conn:
        [row] = conn.execute(select(experiment_decision)).all()
    assert (row.arm, row.decided_by, row.method.startswith("by hand")) == ("b", "alice", True)
    listed = newsletter("experiments", "--template", "weekly")
    assert "winner: b" in listed.output and "alice" in listed.output
    done = newsletter("send", "--due", "--to", "BOX", "--workers", "0", "--max-late", "0")
    assert done.exit_code == 0 and sum(len(m) for m in messages(tmp_path / "box").values()) == len(ids)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cron_waits_for_decide_after_then_decides_from_the_clicks(newsletter, engine, db_url, tmp_path):  # noqa: F811
    ids = add_customers(engine, 200, locale=lambda n: "de")
    assert newsletter("send", "weekly", "--date", DAY, "--to", "BOX", "--workers", "0", "--test", "10").exit_code == 0
    waiting = newsletter("send", "--due", "--to", "BOX", "--workers", "0", "--max-late", "0")
    assert waiting.exit_code == 0 and "wait for the decision" in waiting.output and "UTC" in waiting.output
    assert {r.state for r in rows(engine).values()} == {"sent", "held"}
    click_log(engine, lambda c, arm: c % 10 < 3)  # the arms do equally well
    pass_decide_after(engine)
    due = newsletter("send", "--due", "--to", "BOX", "--workers", "0", "--max-late", "0")
    assert due.exit_code == 0, due.output
    assert f"experiment {EXPERIMENT} decided: arm a" in due.output
    assert sorted(len(m) for m in messages(tmp_path / "box").values()) == [1] * len(ids)
    listed = newsletter("experiments")
    assert "winner: a" in listed.output and "auto" in listed.output
    # The results page shows the same table.
    app = create_app(replace(settings_for(db_url), preview_password="pw"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        page = client.get("/results", headers={"Authorization": "Basic " + base64.b64encode(b"staff:pw").decode()})
    assert page.status_code == 200, page.text[:500]
    table = page.text.split('id="experiments"')[1]
    assert EXPERIMENT in table and "<strong>winner</strong>" in table and "auto, " in table
    with engine.connect() as conn:
        [decision] = conn.execute(select(experiment_decision)).all()

    for arm, (recipients, measured, clickers, clicks) in json.loads(decision.figures).items():
        assert f"<td>{arm}</td>" in table and f"<td>{recipients:,}</td>" in table


def test_a_share_that_is_no_percentage_is_refused(newsletter):
    for share in ("0%", "100%", "ten"):
        result = newsletter("send", "weekly", "--date", DAY, "--to", "BOX", "--test", share)
        assert result.exit_code == 2 and "--test" in result.output
