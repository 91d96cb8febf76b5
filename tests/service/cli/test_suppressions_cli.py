"""`newsletter suppressions ...` against a real SQLite file with a customer: add by hand with a
note, list (and by reason), remove; each a consent event naming the operator; mistakes exit 2."""

from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlmodel import Session
from typer.testing import CliRunner

from preferences import store as customers
from preferences.customers import CustomerData
from preferences.models import Channel, consent_event_table
from service.cli.main import app
from send_fixtures import cli_db_url  # noqa: F401


def run(*args):
    return CliRunner().invoke(app, ["suppressions", *args])


def test_add_list_remove_with_the_operator_in_the_trail(cli_db_url):
    engine = create_engine(cli_db_url)
    with Session(engine) as session:
        customers.create_customer(session, CustomerData(external_id="C1", email="Anna@Example.com"), Channel.IMPORT,
                                  default_locale="de")
        session.commit()
    added = run("add", "anna@example.com", "--note", "asked by phone", "--as", "ops")
    assert added.exit_code == 0 and "anna@example.com suppressed" in added.output
    assert "suppressed already" in run("add", "ANNA@example.com", "--note", "again", "--as", "ops").output
    listed = run("list")
    assert listed.exit_code == 0 and "anna@example.com" in listed.output and "asked by phone" in listed.output
    assert "1 suppressed address" in listed.output
    assert "0 suppressed addresses" in run("list", "--reason", "hard-bounce").output
    removed = run("remove", "anna@example.com", "--as", "ops")
    assert removed.exit_code == 0 and "it was suppressed for manual" in removed.output
    with engine.connect() as conn:
        trail = conn.execute(select(consent_event_table.c.new_value, consent_event_table.c.channel,
                                    consent_event_table.c.actor)
                             .where(consent_event_table.c.field == "suppressed").order_by(consent_event_table.c.id)).all()
    engine.dispose()
    assert [tuple(t) for t in trail] == [('"manual"', "operator", "ops"), (None, "operator", "ops")]


def test_mistakes_exit_2(cli_db_url):
    assert run("remove", "nobody@example.com").exit_code == 2
    assert run("add", "not an address", "--note", "x").exit_code == 2
    blank = run("add", "anna@example.com", "--note", " ")
    assert blank.exit_code == 2 and "note" in blank.output
    assert run("list", "--reason", "spam").exit_code == 2
