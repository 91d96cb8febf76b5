"""A send of the demo edition with its experiment (arm b of advice/heating-costs), on SQLite and
PostgreSQL: the ledger records the arm each customer got, and each customer's message holds the
text of the arm their assignment says (computed here from the documented keyed hash)."""

from __future__ import annotations

import hashlib
import hmac

from send_fixtures import (add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           send_demo_edition, settings_for)

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
        html = by_address[f"kunde.{customer}@example.com"].get_body(("html",)).get_content()
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
