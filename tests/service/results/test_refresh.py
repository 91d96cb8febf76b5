"""The measurement loop end to end: the demo edition sent to a Maildir, links taken from the real
messages and followed through the app, then ``refresh`` and the figures by every dimension.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import warnings
from collections import defaultdict

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlmodel import SQLModel
from starlette.testclient import TestClient

from preferences.links import LinkSigner
from preferences.models import Customer
from service.assembly.tracking import LAYOUT, open_target
from service.results.figures import Period, results_by
from service.results.refresh import refresh
from service.results.tables import EARLY, HUMAN, SWEEP, click
from service.sending.contents import variant_block
from service.settings import Settings
from service.web.app import create_app
from send_fixtures import (EDITION, add_customers, age_deliveries, db_url, engine, migrated_postgres_url,  # noqa: F401
                           send_demo_edition, settings_for)

BASE = "http://127.0.0.1:8000"
SIGNER = LinkSigner(Settings().link_keys)
TRACKED = re.compile(re.escape(BASE) + r"/r/~?[A-Za-z0-9_.-]+/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}")
PERIOD = Period("weekly", EDITION, EDITION)
NEW_TABLES = ("'variant_block'", "'block_group'", "'result_click'", "'result_audience'", "'result_state'",
              "'verdict'")


@pytest.fixture
def sent(engine, db_url, tmp_path):
    add_customers(engine, 12)
    messages, deliveries = send_demo_edition(engine, db_url, tmp_path / "outbox")
    assert len(messages) == 12
    by_address = {m["To"].addresses[0].addr_spec: m for m in messages}
    with engine.connect() as conn:
        emails = dict(conn.execute(select(Customer.id, Customer.email)).all())
    return [(by_address[emails[cid]], row) for cid, row in sorted(deliveries.items())]


def links_of(message) -> list[tuple[str, object]]:
    found = TRACKED.findall(message.get_body(("html",)).get_content())
    return [(link.removeprefix(BASE), open_target(SIGNER, link.split("/r/")[1].split("/")[0]))
            for link in dict.fromkeys(found)]


def test_the_migration_matches_the_tables(engine):
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert [d for d in diffs if any(name in repr(d) for name in NEW_TABLES)] == []


def test_the_send_records_the_blocks_each_variant_held(sent, engine):
    with engine.connect() as conn:
        held = defaultdict(set)
        for row in conn.execute(select(variant_block)):
            held[row.variant].add(row.owner)
    for message, row in sent:
        owners = {target.owner for _, target in links_of(message)}
        assert LAYOUT in held[row.variant]
        assert owners <= held[row.variant]  # every block a link of the message belongs to


def test_clicks_count_for_the_block_team_and_edition_over_the_recipients_who_got_them(sent, engine, db_url):
    reader_a, reader_b, scanner, early = sent[0], sent[1], sent[2], sent[3]
    age_deliveries(engine, ids={row.id for _, row in sent if row is not early[1]})
    link_a, target = next((link, t) for link, t in links_of(reader_a[0]) if t.owner != LAYOUT)
    link_b = next(link for link, t in links_of(reader_b[0]) if t.owner == target.owner)  # same block
    with TestClient(create_app(settings_for(db_url)), base_url=BASE) as client:
        for link in (link_a, link_a, link_b):
            assert client.get(link, follow_redirects=False).status_code == 302
        for link, _ in links_of(scanner[0])[:4]:  # a gateway opening every link at once
            client.get(link, follow_redirects=False)
        client.get(links_of(early[0])[0][0], follow_redirects=False)
    result = refresh(engine)
    assert result.editions == (("weekly", EDITION),) and result.judged == 8
    with engine.connect() as conn:
        verdicts = dict(conn.execute(select(click.c.customer, click.c.verdict)).all())
        public = dict(conn.execute(select(Customer.id, Customer.public_id)).all())
        blocks = {r.owner: r.title for r in conn.execute(select(variant_block))}
        edition = results_by(conn, PERIOD, "edition")
        by_block = {f.key: f for f in results_by(conn, PERIOD, "block")}
        by_team = {f.key: f for f in results_by(conn, PERIOD, "team")}
        by_segment = results_by(conn, PERIOD, "segment")
        by_link = results_by(conn, PERIOD, "link", team=target.team)
    assert verdicts[public[reader_a[1].customer_id]] == HUMAN
    assert verdicts[public[scanner[1].customer_id]] == SWEEP
    assert verdicts[public[early[1].customer_id]] == EARLY

    recipients = sum(1 for message, _ in sent if any(t.owner == target.owner for _, t in links_of(message)))
    block = by_block[target.owner]
    assert (block.recipients, block.clickers, block.clicks) == (recipients, 2, 3)
    assert block.click_rate == pytest.approx(2 / recipients) and block.label == blocks[target.owner]
    assert block.team == target.team and block.segments
    assert by_team[target.team].clickers == 2 and by_team[target.team].recipients >= recipients
    [total] = edition
    assert (total.key, total.recipients, total.clickers, total.clicks, total.machine_clicks) == \
        (EDITION.isoformat(), 12, 2, 3, 5)
    assert sum(f.recipients for f in by_segment) == 12 and sum(f.clickers for f in by_segment) == 2
    assert all(f.team == target.team for f in by_link)
    assert {(f.key, f.url) for f in by_link if f.clicks} == {(f"{target.owner}#{target.index}", target.url)}
    # Blocks nobody clicked are listed too, at 0, over their own recipients.
    assert all(f.recipients > 0 for f in by_block.values())


def test_refresh_reads_only_what_changed(sent, engine, db_url):
    age_deliveries(engine)
    assert refresh(engine).editions == (("weekly", EDITION),)  # the send itself
    assert refresh(engine).editions == ()
    link, target = links_of(sent[0][0])[0]
    with TestClient(create_app(settings_for(db_url)), base_url=BASE) as client:
        client.get(link, follow_redirects=False)
    again = refresh(engine)
    assert again.editions == (("weekly", EDITION),) and again.judged == 1
    with engine.connect() as conn:
        [total] = results_by(conn, PERIOD, "edition")
    assert (total.clicks, total.clickers) == (1, 1)
