"""A send of the demo edition with its experiment (arm b of advice/heating-costs), on SQLite and
PostgreSQL: the ledger records the arm each customer got, and each customer's message holds the
text of the arm their assignment says (computed here from the documented keyed hash)."""

from __future__ import annotations

import hashlib
from html import unescape
import hmac
import mailbox
from email import message_from_bytes, policy

from service.content.check import load_content
from service.sending import ledger
from service.sending.batch import BatchSender
from service.sending.plan import plan_run
from service.sending.spec import SendSpec
from send_fixtures import (CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           send_demo_edition, settings_for)
from test_send import die_mid_batch

EXPERIMENT = "advice/heating-costs"
# Each arm's headline, per locale, as the demo's block files say it.
HEADLINES = {("a", "de"): "Heizkosten sparen – ohne zu frieren", ("a", "en"): "Cut heating costs without feeling the cold",
             ("b", "de"): "Bis zu 300 € im Jahr: So sinken Ihre Heizkosten", ("b", "en"): "Save up to €300 a year on heating"}


def assigned_arm(key: bytes, public_id: str) -> str:
    digest = hmac.new(key, f"{EXPERIMENT}\x1f{public_id}".encode(), hashlib.sha256).digest()
    return "b" if int.from_bytes(digest[:8], "big") % 10_000 < 5000 else "a"  # even split: b first


def test_the_ledger_and_each_message_carry_the_customers_arm(engine, db_url, tmp_path):  # noqa: F811
    ids = add_customers(engine, 120)
    messages, deliveries = send_demo_edition(engine, db_url, tmp_path / "outbox")
    key = settings_for(db_url).experiment_key
    by_address = {str(m["To"].addresses[0].addr_spec): m for m in messages}
    seen = {"a": 0, "b": 0}
    for customer in ids:
        row = deliveries[customer]
        if row.state != "sent":
            continue
        public_id, locale = f"pub{customer:018d}A", "de" if customer % 4 else "en"
        # The HTML part is ASCII (it goes 7bit): its text with the references read.
        html = unescape(by_address[f"kunde.{customer}@example.com"].get_body(("html",)).get_content())
        if row.arms is None:  # the block is not in this customer's variant (a higher-priority advice)
            assert not any(text in html for text in HEADLINES.values())
            continue
        arm = assigned_arm(key, public_id)
        assert row.arms == f"{EXPERIMENT}={arm}"
        assert f"[{EXPERIMENT}={arm}]" in row.variant
        assert HEADLINES[(arm, locale)] in html
        assert HEADLINES[("b" if arm == "a" else "a", locale)] not in html
        seen[arm] += 1
    assert seen["a"] > 10 and seen["b"] > 10  # both arms went out


def test_after_a_worker_died_mid_batch_everyone_still_gets_their_arm_once(engine, db_url, tmp_path):  # noqa: F811
    """The dead worker's handed-over messages and the survivor's agree: the arm is a pure function
    of the key and the customer, and the row found at the destination records the same arm."""
    ids = add_customers(engine, 40)
    box = tmp_path / "outbox"
    spec = SendSpec(settings_for(db_url), "weekly", EDITION, f"maildir:{box}", lease=0.3, batch_size=10)
    content = load_content(CONTENT)
    plan_run(engine, content, spec)
    claims = die_mid_batch(spec, engine, content, after=6)
    survivor = BatchSender(spec, "survivor", engine=engine, content=content)
    assert survivor.run_until_done() == 0
    survivor.close()
    messages = [message_from_bytes(m.as_bytes(), policy=policy.default) for m in mailbox.Maildir(box, create=False)]
    addresses = [str(m["To"].addresses[0].addr_spec) for m in messages]
    assert len(addresses) == len(set(addresses)) == len(ids)  # nobody twice, nobody missed
    with engine.connect() as conn:
        rows = {r.customer_id: r for r in ledger.deliveries_of(conn, spec.edition)}
    key = settings_for(db_url).experiment_key
    held = [c.customer_id for c in claims[:6]]
    assert all(rows[c].answer == "found at the destination after a crash" for c in held)
    for message in messages:
        customer = int(str(message["To"].addresses[0].addr_spec).split(".")[1].split("@")[0])
        html, locale = unescape(message.get_body(("html",)).get_content()), "de" if customer % 4 else "en"
        row = rows[customer]
        if row.arms is not None:
            arm = assigned_arm(key, f"pub{customer:018d}A")
            assert row.arms == f"{EXPERIMENT}={arm}" and HEADLINES[(arm, locale)] in html
        else:
            assert not any(text in html for text in HEADLINES.values())
    assert any(rows[c].arms for c in held)  # the held rows name their arms too
