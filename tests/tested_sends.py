"""Helpers of the tested-edition tests: send one phase in this process, simulate a click log on
the arms' blocks, and let the clock pass decide_after."""

from __future__ import annotations

import hashlib
import mailbox
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from typing import Callable

from sqlalchemy import insert, select, update

from preferences.models import customer_table
from service.content.check import load_content
from service.results.tables import click
from service.sending import ledger
from service.sending.spec import SendSpec
from service.sending.tables import send_run
from send_fixtures import CONTENT, EDITION, plan_and_deliver, settings_for

EXPERIMENT = "advice/heating-costs"
KEY = ledger.EditionKey("weekly", EDITION)
CONTENT_LOADED = load_content(CONTENT)


def send_phase(engine, url: str, box, share: int | None = None) -> None:
    """Plan the edition (a tested one with ``share``) and deliver what is pending, one worker."""
    plan_and_deliver(engine, SendSpec(settings_for(url), "weekly", EDITION, f"maildir:{box}", test_share=share),
                     CONTENT_LOADED)


def rows(engine) -> dict:
    with engine.connect() as conn:
        return {r.customer_id: r for r in ledger.deliveries_of(conn, KEY)}


def click_log(engine, clicks: Callable[[int, str], bool]) -> int:
    """One human-looking click on the experiment's block for each sent customer who got an arm of
    it and for whom ``clicks(customer id, arm)`` says so; the clicks written."""
    experiment = CONTENT_LOADED.experiments[EXPERIMENT]
    later = datetime.now(timezone.utc) + timedelta(minutes=5)  # well after delivery: not a scanner
    with engine.connect() as conn:
        public = dict(conn.execute(select(customer_table.c.id, customer_table.c.public_id)).all())
    found = []
    for customer, row in rows(engine).items():
        arms = dict(part.split("=") for part in (row.arms or "").split(";") if part)
        if row.state != "sent" or EXPERIMENT not in arms or not clicks(customer, arms[EXPERIMENT]):
            continue
        locale = row.variant.split(" ")[0].split("/")[1]
        block = experiment.arm(arms[EXPERIMENT]).blocks[locale]
        found.append(dict(template="weekly", edition_date=EDITION, customer=public[customer], owner=block,
                          team="advice", link_index=0, url="https://www.nordhaus.example/heizen", segment=row.segment,
                          variant=row.variant, clicked_at=later,
                          client_hash=hashlib.sha256(str(customer).encode()).hexdigest()))
    if found:
        with engine.begin() as conn:
            conn.execute(insert(click), found)
    return len(found)


def pass_decide_after(engine) -> None:
    """The test sample went out longer ago than decide_after (4h in the demo's template.yaml)."""
    with engine.begin() as conn:
        conn.execute(update(send_run).values(test_done_at=datetime.now(timezone.utc) - timedelta(hours=5)))


def messages(box) -> dict[str, list]:
    """The messages at the destination by recipient address."""
    found: dict[str, list] = {}
    for m in mailbox.Maildir(box, create=False):
        message = message_from_bytes(m.as_bytes(), policy=policy.default)
        found.setdefault(str(message["To"].addresses[0].addr_spec), []).append(message)
    return found
