"""A tested edition end to end on SQLite and PostgreSQL: `send --test 10%` sends a sample with
all arms and holds the rest; once decide_after is over the experiment is decided from a simulated
click log (arm b clearly better: b; equal: a kept) and recorded before the rest is sent only the
winner; nobody twice, nobody missed, nobody of the sample again."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from preferences.models import customer_table
from service.content.experiments import in_test_sample
from service.experiments.conclusion import RELEASED, TESTING, WAITING, conclude
from service.experiments.decisions import decisions_of
from service.experiments.tables import experiment_decision
from service.sending import ledger
from send_fixtures import add_customers, db_url, engine, migrated_postgres_url, settings_for  # noqa: F401
from tested_sends import CONTENT_LOADED, EXPERIMENT, KEY, click_log, messages, pass_decide_after, rows, send_phase

CUSTOMERS = 400
SHARE = 1000  # 10%
HEADLINE = {"a": "Heizkosten sparen", "b": "Bis zu 300"}  # the German arms' headlines (the demo's block files)


def now():
    return datetime.now(timezone.utc)


def sample_of(engine, url) -> set[int]:
    """The test sample as the documented keyed hash draws it, computed here."""
    key = settings_for(url).experiment_key
    with engine.connect() as conn:
        public = dict(conn.execute(select(customer_table.c.id, customer_table.c.public_id)).all())
    return {c for c, p in public.items() if in_test_sample(key, f"weekly/{KEY.day.isoformat()}", p, SHARE)}


def test_the_sample_goes_out_with_all_arms_and_the_rest_waits(engine, db_url, tmp_path):  # noqa: F811
    ids = add_customers(engine, CUSTOMERS)
    send_phase(engine, db_url, tmp_path / "box", SHARE)
    found = rows(engine)
    assert len(found) == len(ids)  # everyone planned: nobody lost
    sent = {c for c, r in found.items() if r.state == "sent"}
    held = {c for c, r in found.items() if r.state == "held"}
    assert sent | held == set(ids) and not sent & held
    assert sent == sample_of(engine, db_url)  # the keyed hash, and nothing else, draws the sample
    assert abs(len(sent) / len(ids) - 0.10) < 0.04
    assert {found[c].phase for c in sent} == {"test"} and {found[c].phase for c in held} == {"rest"}
    assert Counter(found[c].arms for c in sent).keys() == {f"{EXPERIMENT}=a", f"{EXPERIMENT}=b"}  # both arms
    assert set(messages(tmp_path / "box")) == {f"kunde.{c}@example.com" for c in sent}
    with engine.connect() as conn:
        run = ledger.get_run(conn, KEY)
        assert run.completed_at is None and ledger.count_unfinished(conn, KEY) == len(held)
    # The same run again (a re-run, a resume): the same sample, nothing sent twice.
    send_phase(engine, db_url, tmp_path / "box", SHARE)
    assert {c for c, r in rows(engine).items() if r.state == "sent"} == sent
    assert sum(len(m) for m in messages(tmp_path / "box").values()) == len(sent)
    conclusion = conclude(engine, CONTENT_LOADED, KEY, now())
    assert conclusion.state == WAITING and conclusion.undecided == (EXPERIMENT,)  # decide_after not over


@pytest.mark.parametrize("better, winner", [(True, "b"), (False, "a")])
def test_the_click_log_decides_and_the_rest_gets_only_the_winner(engine, db_url, tmp_path, better, winner):  # noqa: F811
    ids = add_customers(engine, CUSTOMERS, locale=lambda n: "de")
    box = tmp_path / "box"
    send_phase(engine, db_url, box, SHARE)
    sample = {c for c, r in rows(engine).items() if r.state == "sent"}
    # b: 6 in 10 click, a: 1 in 10; or both 3 in 10.
    click_log(engine, lambda c, arm: c % 10 < ((6 if arm == "b" else 1) if better else 3))
    pass_decide_after(engine)
    conclusion = conclude(engine, CONTENT_LOADED, KEY, now())
    assert conclusion.state == RELEASED and conclusion.released == len(ids) - len(sample)
    [decision] = conclusion.decided
    assert (decision.experiment, decision.arm, decision.decided_by) == (EXPERIMENT, winner, "auto")
    assert "Fisher" in decision.method and "Holm" in decision.method
    assert (decision.p_value < 0.01) if better else (decision.p_value > 0.05)
    assert sum(f.measured for f in decision.figures.values()) == len(sample)
    send_phase(engine, db_url, box)  # the winner phase
    found = rows(engine)
    assert {r.state for r in found.values()} == {"sent"}
    rest = set(ids) - sample
    assert {found[c].phase for c in rest} == {"winner"} and {found[c].phase for c in sample} == {"test"}
    assert {found[c].arms for c in rest} == {f"{EXPERIMENT}={winner}"}  # only the winner
    got = messages(box)
    assert sorted(len(m) for m in got.values()) == [1] * len(ids)  # nobody twice, nobody missed
    for c in rest:
        html = got[f"kunde.{c}@example.com"][0].get_body(("html",)).get_content()
        assert HEADLINE[winner] in html and HEADLINE["b" if winner == "a" else "a"] not in html
    # Decided once: a second call finds the decision and changes nothing.
    assert conclude(engine, CONTENT_LOADED, KEY, now()).decided == []
    with engine.connect() as conn:
        assert len(conn.execute(select(experiment_decision)).all()) == 1
        assert decisions_of(conn, KEY)[EXPERIMENT].decided_at <= ledger.get_run(conn, KEY).released_at


def test_a_test_phase_not_through_is_not_decided(engine, db_url, tmp_path):  # noqa: F811
    add_customers(engine, 50)
    from service.sending.plan import plan_run
    from service.sending.spec import SendSpec

    plan_run(engine, CONTENT_LOADED, SendSpec(settings_for(db_url), "weekly", KEY.day, "maildir:x", test_share=SHARE))
    pass_decide_after(engine)  # even with the clock past it: the sample is still pending
    with engine.begin() as conn:
        conn.execute(ledger.send_run.update().values(test_done_at=None))
    assert conclude(engine, CONTENT_LOADED, KEY, now()).state == TESTING
    assert {r.state for r in rows(engine).values()} <= {"pending", "held"}
