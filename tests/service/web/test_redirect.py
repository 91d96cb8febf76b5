"""Clicks, end to end on SQLite and PostgreSQL: the demo edition sent to a Maildir, the tracked
links taken from the real messages and requested through the app as ``newsletter serve`` runs it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from preferences.consent import client_hash
from preferences.links import LinkSigner
from preferences.models import Customer
from service.assembly.tracking import LAYOUT, open_target
from service.results.tables import click
from service.settings import Settings
from service.web.app import create_app
from send_fixtures import (CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           send_demo_edition, settings_for)

BASE = "http://127.0.0.1:8000"  # the default base URL, as in make demo
SIGNER = LinkSigner(Settings().link_keys)  # the development key the test settings sign with
TRACKED = re.compile(re.escape(BASE) + r"/r/~?[A-Za-z0-9_.-]+/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}")


@pytest.fixture
def sent(engine, db_url, tmp_path):
    """Eight customers sent the demo edition; their messages, parsed from the Maildir."""
    add_customers(engine, 8)
    messages, deliveries = send_demo_edition(engine, db_url, tmp_path / "outbox")
    assert len(messages) == len(deliveries) == 8
    return messages, deliveries


@pytest.fixture
def client(db_url):
    app = create_app(settings_for(db_url))
    return TestClient(app, base_url=BASE, headers={"User-Agent": "Mail client/1.0"})


def links_of(message) -> list[str]:
    return TRACKED.findall(message.get_body(("html",)).get_content())


def clicks(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(click).order_by(click.c.id)))


def test_a_click_redirects_and_is_recorded_with_block_team_segment_and_variant(sent, client, engine):
    messages, deliveries = sent
    link = links_of(messages[0])[0]
    target = open_target(SIGNER, link.split("/r/")[1].split("/")[0])
    response = client.get(link.removeprefix(BASE), follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == target.url
    assert response.headers["cache-control"] == "no-store"
    assert client.app.state.clicks.flush() == 1
    [row] = clicks(engine)
    with engine.connect() as conn:
        customer_id = conn.execute(select(Customer.id).where(Customer.public_id == row.customer)).scalar_one()
    delivered = deliveries[customer_id]
    assert delivered.message_id == messages[0]["Message-ID"].strip()  # the click came from this message
    assert (row.template, row.edition_date, row.owner, row.team, row.link_index, row.url) == \
        ("weekly", EDITION, target.owner, target.team, target.index, target.url)
    assert (row.segment, row.variant) == (delivered.segment, delivered.variant)
    assert row.client_hash == client_hash("testclient", "Mail client/1.0")


def test_every_link_of_a_message_leads_where_the_email_said(sent, client, engine):
    messages, _ = sent
    links = links_of(messages[1])
    for link in links:
        response = client.get(link.removeprefix(BASE), follow_redirects=False)
        assert response.status_code == 302 and response.headers["location"].startswith("https://")
    client.app.state.clicks.flush()
    rows = clicks(engine)
    assert len(rows) == len(links)
    owners = {r.owner for r in rows}
    assert LAYOUT in owners and any("/" in o for o in owners)
    assert all(r.team == r.owner.split("/")[0] for r in rows if r.owner != LAYOUT)  # a block id is team/name
    assert all(r.team == "" for r in rows if r.owner == LAYOUT)


@pytest.mark.parametrize("change", [
    lambda link: link[:-1] + ("A" if link[-1] != "A" else "B"),               # the recipient's signature
    lambda link: re.sub(r"/r/(~?)(.)", lambda m: "/r/" + m.group(1) + ("A" if m.group(2) != "A" else "B"), link),  # the target
    lambda link: link.rsplit("/", 1)[0] + "/" + "B" * 22 + "." + link.rsplit(".", 1)[1],  # another customer
    lambda link: link.rsplit("/", 1)[0],
])
def test_a_tampered_link_is_the_404_page_and_records_nothing(sent, client, engine, change):
    link = links_of(sent[0][0])[0]
    response = client.get(change(link).removeprefix(BASE), follow_redirects=False)
    assert response.status_code == 404 and "location" not in response.headers
    assert client.app.state.clicks.recorded == 0 and client.app.state.clicks.flush() == 0
    assert clicks(engine) == []


def test_head_is_answered_and_never_recorded(sent, client, engine):
    link = links_of(sent[0][0])[0]
    response = client.head(link.removeprefix(BASE), follow_redirects=False)
    assert response.status_code == 302
    assert client.app.state.clicks.recorded == 0 and clicks(engine) == []


def test_the_redirect_answers_with_the_database_down(sent, db_url, tmp_path):
    link = links_of(sent[0][0])[0]
    down = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", content_dir=CONTENT)
    with TestClient(create_app(down), base_url=BASE) as client:  # the recorder's thread runs
        for _ in range(3):
            response = client.get(link.removeprefix(BASE), follow_redirects=False)
            assert response.status_code == 302
        recorder = client.app.state.clicks
        assert recorder.flush() == 0 and recorder.failed_batches >= 1
        assert recorder.pending == 3 and recorder.dropped == 0  # kept for when it is back
