"""While the relay defers, the send says so on its progress line, with the relay's own words
and the time of the next try (issue 10.23, 10.14): never a frozen bar without a word."""

from __future__ import annotations

from datetime import datetime, timezone

from service.content.check import load_content
from service.sending.local_engine import run_local
from service.sending.plan import plan_run
from service.sending.spec import SendSpec
from send_fixtures import (CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           settings_for, smtp_relay)


def test_a_deferring_relay_is_named_on_the_progress_line_until_the_send_moves_again(db_url, engine, smtp_relay):
    relay, port = smtp_relay
    relay.mail_busy_for = 1  # 451 to the first MAIL FROM: one deferred batch, then it takes mail
    add_customers(engine, 4)
    content = load_content(CONTENT)
    spec = SendSpec(settings_for(db_url), "weekly", EDITION, f"smtp://127.0.0.1:{port}?retries=0&timeout=5",
                    batch_size=2, workers=1)
    said = []
    result = run_local(engine, spec, lambda tick: plan_run(engine, content, spec, on_batch=lambda _c: tick()),
                       workers=1, progress=lambda counts: None, poll=0.1, stalled_after=0.3,
                       waiting=lambda status: said.append((datetime.now(timezone.utc), status)))
    assert not result.relay_down
    assert len(relay.recipients()) == 4
    waits = [status for _, status in said if status is not None]
    assert waits, said
    first = waits[0]
    assert first.reason == ("waiting for the relay, which answered: 451 4.3.0 Mail server temporarily "
                            "rejected message (MAIL FROM); next try by")
    assert first.until is not None and first.until > datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert said[-1][1] is None  # and it says nothing once mail moves again
