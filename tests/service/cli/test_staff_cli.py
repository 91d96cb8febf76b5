"""`newsletter staff ...` against a real SQLite file: add with the password from stdin, list,
a bad team or a weak password refused with exit 2, disable and password changes recorded."""

from __future__ import annotations

from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from service.cli.main import app
from service.staff.tables import staff, staff_event
from send_fixtures import CONTENT, cli_db_url  # noqa: F401


def run(args, input_=None):
    return CliRunner().invoke(app, ["staff", *args], input=input_)


def test_add_list_disable_and_the_trail(cli_db_url, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    added = run(["add", "lena.vogel", "--email", "lena@nordhaus.example", "--team", "advice", "--password-stdin",
                 "--as", "ops"], "a good long secret\n")
    assert added.exit_code == 0, added.output
    assert "added lena.vogel (editor, team advice)" in added.output
    assert "a good long secret" not in added.output
    listed = run(["list"])
    assert listed.exit_code == 0 and "lena.vogel" in listed.output and "active" in listed.output
    assert run(["password", "lena.vogel", "--password-stdin", "--as", "ops"], "another long secret\n").exit_code == 0
    assert run(["disable", "lena.vogel", "--as", "ops"]).exit_code == 0
    assert "disabled" in run(["list"]).output
    engine = create_engine(cli_db_url)
    with engine.connect() as conn:
        assert conn.execute(select(staff.c.password_hash)).scalar_one().startswith("$argon2id$")
        trail = conn.execute(select(staff_event.c.actor, staff_event.c.action).order_by(staff_event.c.id)).all()
    engine.dispose()
    assert [tuple(t) for t in trail] == [("ops", "staff-added"), ("ops", "password-changed"), ("ops", "staff-disabled")]


def test_mistakes_are_named_with_exit_2(cli_db_url, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    unknown_team = run(["add", "tom", "--email", "tom@n.example", "--team", "marketing", "--password-stdin"],
                       "a good long secret\n")
    assert unknown_team.exit_code == 2 and "unknown team 'marketing'" in unknown_team.output
    weak = run(["add", "tom", "--email", "tom@n.example", "--team", "offers", "--password-stdin"], "short\n")
    assert weak.exit_code == 2 and "at least 12 characters" in weak.output
    assert run(["disable", "nobody"]).exit_code == 2
    differ = run(["add", "tom", "--email", "tom@n.example", "--team", "offers"], "a good long secret\nanother one!!!\n")
    assert differ.exit_code == 2 and "differ" in differ.output
