"""`newsletter customers import` and `demo-csv`: messages and exit codes, on a SQLite file."""

from __future__ import annotations

import re

import pytest
import sqlalchemy
from typer.testing import CliRunner

from repo_paths import CONTENT
from service.cli.main import app

runner = CliRunner()

HEADER = "external_id,email,first_name,locale,status,region,lifecycle,purchasing_power,loyalty_member\n"
GOOD_ROWS = ("CRM-1,anna@example.com,Anna,de,,north,customer,4,yes\n"
             "CRM-2,ben@example.org,Ben,en,,south,subscriber,2,no\n"
             "CRM-3,chloe@example.net,Chloé,,,east,,,\n")


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/var/newsletter.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    return url


def customers(url: str) -> list[tuple]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            if "customer" not in sqlalchemy.inspect(conn).get_table_names():
                return []
            return list(conn.exec_driver_sql("SELECT external_id, email, first_name FROM customer ORDER BY id"))
    finally:
        engine.dispose()


def write(tmp_path, text: str | bytes, name="customers.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def run(*args):
    return runner.invoke(app, ["customers", *map(str, args)])


def summary(output: str) -> tuple[int, ...]:
    match = re.search(r"(\d+) (?:would be )?created, (\d+) (?:would be )?updated, (\d+) unchanged, "
                      r"(\d+) skipped in [\d.]+ s", output)
    assert match, output
    return tuple(int(n) for n in match.groups())


def test_a_good_file_is_imported_and_a_rerun_changes_nothing(tmp_path, db):
    path = write(tmp_path, HEADER + GOOD_ROWS)
    result = run("import", path)
    assert result.exit_code == 0, result.output
    assert summary(result.output) == (3, 0, 0, 0)
    assert [row[0] for row in customers(db)] == ["CRM-1", "CRM-2", "CRM-3"]
    again = run("import", path)
    assert again.exit_code == 0 and summary(again.output) == (0, 0, 3, 0)


def test_bad_rows_are_reported_as_file_line_message_and_nothing_is_imported(tmp_path, db):
    path = write(tmp_path, HEADER + GOOD_ROWS
                 + "CRM-4,not-an-email,Dora,de,,north,customer,4,yes\n"
                 + "CRM-5,e@example.com,Emil,fr,,mars,customer,9,vielleicht\n")
    result = run("import", path)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(line.startswith(f"{path}:5: email: ") for line in lines), result.output
    for column in ("locale", "region", "purchasing_power", "loyalty_member"):
        assert any(line.startswith(f"{path}:6: {column}: ") for line in lines), (column, result.output)
    assert "2 rows have errors; nothing was imported; use --skip-invalid to import the 3 good rows" in result.output
    assert "Traceback" not in result.output
    assert customers(db) == []


def test_skip_invalid_imports_the_good_rows(tmp_path, db):
    path = write(tmp_path, HEADER + GOOD_ROWS + "CRM-4,not-an-email,Dora,de,,north,customer,4,yes\n")
    result = run("import", path, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert f"{path}:5: email: " in result.output
    assert summary(result.output) == (3, 0, 0, 1)
    assert len(customers(db)) == 3


def test_a_dry_run_writes_nothing(tmp_path, db):
    path = write(tmp_path, HEADER + GOOD_ROWS)
    result = run("import", path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run, nothing written: 3 would be created" in result.output
    assert customers(db) == []
    bad = write(tmp_path, HEADER + "CRM-9,nope,,,,,,,\n" + GOOD_ROWS, "bad.csv")
    result = run("import", bad, "--dry-run")
    assert result.exit_code == 1 and f"{bad}:2: email: " in result.output
    # One story, not "3 would be created" then "nothing" (issue 10.19).
    assert ("dry run, nothing written: a real run would import nothing (1 row with errors); "
            "with --skip-invalid: 3 would be created") in result.output
    assert summary(result.output) == (3, 0, 0, 1)
    assert "use --skip-invalid to import the 3 good rows" in result.output
    assert customers(db) == []


def test_a_file_with_a_bom_is_read(tmp_path, db):
    path = write(tmp_path, b"\xef\xbb\xbf" + (HEADER + GOOD_ROWS).encode("utf-8"))
    result = run("import", path)
    assert result.exit_code == 0, result.output
    assert customers(db)[2] == ("CRM-3", "chloe@example.net", "Chloé")


def test_an_unknown_column_is_named(tmp_path, db):
    path = write(tmp_path, "external_id,email,shoe_size\nCRM-1,a@example.com,44\n")
    result = run("import", path)
    assert result.exit_code == 1
    assert f"{path}:1: unknown column(s): shoe_size (known: external_id, email" in result.output
    assert "nothing was imported" in result.output


def test_duplicates_in_the_file_are_row_errors(tmp_path, db):
    path = write(tmp_path, HEADER + GOOD_ROWS + "CRM-1,other@example.com,,,,,,,\n" + "CRM-7,ANNA@example.com,,,,,,,\n")
    result = run("import", path)
    assert result.exit_code == 1
    assert f"{path}:2: external_id: the same external id is also on line 5" in result.output
    assert f"{path}:2: email: the same email is also on line 6" in result.output
    assert f"{path}:5: external_id: the same external id is also on line 2" in result.output
    assert customers(db) == []


def test_an_email_of_another_stored_customer_is_a_row_error(tmp_path, db):
    assert run("import", write(tmp_path, HEADER + GOOD_ROWS)).exit_code == 0
    path = write(tmp_path, "external_id,email\nCRM-8,new@example.com\nCRM-9,Anna@example.com\n", "more.csv")
    result = run("import", path)
    assert result.exit_code == 1
    assert f"{path}:3: email: already belongs to customer CRM-1" in result.output
    assert len(customers(db)) == 3


def test_a_file_that_is_not_utf8(tmp_path, db):
    path = write(tmp_path, (HEADER + "CRM-1,a@example.com,J\xfcrgen,de,,,,,\n").encode("latin-1"))
    result = run("import", path)
    assert result.exit_code == 1
    assert f"{path}:2: not UTF-8" in result.output


def test_usage_errors_exit_2(tmp_path, db):
    assert run("import", tmp_path / "missing.csv").exit_code == 2
    assert run("import").exit_code == 2


def test_demo_csv_then_import(tmp_path, db):
    path = tmp_path / "demo.csv"
    result = run("demo-csv", path, "--count", "300")
    assert result.exit_code == 0, result.output
    assert "wrote 300 demo customers" in result.output
    imported = run("import", path)
    assert imported.exit_code == 0, imported.output
    assert summary(imported.output) == (300, 0, 0, 0)
    assert len(customers(db)) == 300


def test_link_prints_a_signed_preference_link(tmp_path, monkeypatch):
    from typer.testing import CliRunner as _Runner

    from preferences.links import LinkSigner, Purpose
    from service.cli.main import app as _app
    from service.settings import Settings as _Settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/l.db")
    runner_ = _Runner()
    csv = tmp_path / "c.csv"
    csv.write_text("external_id,email,first_name,locale\nL-1,l1@example.com,Lea,de\n")
    assert runner_.invoke(_app, ["customers", "import", str(csv)]).exit_code == 0
    result = runner_.invoke(_app, ["customers", "link", "L-1"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("http://127.0.0.1:8000/preferences/")
    LinkSigner(_Settings.from_env().link_keys).verify(url.rsplit("/", 1)[1], Purpose.PREFERENCES)
    missing = runner_.invoke(_app, ["customers", "link", "nobody"])
    assert missing.exit_code == 1 and "no customer with external id 'nobody'" in missing.output


def test_a_reimport_keeps_the_language_the_customer_chose_and_says_so(db, tmp_path):
    """Issue 10.6: customer 1 set English on the preference page; the nightly import of the same
    CRM file must not set it back to German, unless the operator asks for it."""
    from datetime import date

    from sqlmodel import Session

    from preferences import store
    from preferences.database import make_engine
    from preferences.models import Channel

    path = write(tmp_path, HEADER + GOOD_ROWS)
    assert run("import", path).exit_code == 0
    engine = make_engine(db)
    with Session(engine) as session:
        customer = store.get_customer_by_external_id(session, "CRM-1")
        store.change_preferences(session, customer, {"locale": "en"}, Channel.PAGE, None, today=date(2026, 11, 23),
                                 known_groups=frozenset(), locales=("de", "en"))
        session.commit()

    def locale() -> str:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT locale FROM customer WHERE external_id = 'CRM-1'").scalar_one()

    again = run("import", path)
    assert again.exit_code == 0, again.output
    assert locale() == "en"
    assert "kept, as the customers set them: the language chosen on the preference page" in again.output
    assert "of 1 customer" in again.output and "0 updated, 3 unchanged" in again.output
    forced = run("import", path, "--overwrite-preferences")
    assert forced.exit_code == 0 and "1 updated" in forced.output and "kept" not in forced.output
    assert locale() == "de"
    engine.dispose()


def test_customers_imported_as_pending_get_the_confirmation_mail(db, tmp_path, monkeypatch):
    """Issue 10.4: the import is a path that makes customers pending, so it mails them."""
    import mailbox

    monkeypatch.setenv("NEWSLETTER_RELAY", f"maildir:{tmp_path / 'outbox'}")
    path = write(tmp_path, HEADER + "CRM-7,gil@example.com,Gil,en,pending,north,,,\n" + GOOD_ROWS)
    result = run("import", path)
    assert result.exit_code == 0, result.output
    assert "confirmation mails to new pending customers: 1 sent" in result.output
    [message] = list(mailbox.Maildir(tmp_path / "outbox", create=False))
    assert message["To"].endswith("<gil@example.com>") or message["To"] == "gil@example.com"
    assert "/confirm/" in message.get_payload(decode=True).decode("utf-8")
    again = run("import", path)  # nothing new: no second mail
    assert "confirmation mails" not in again.output
    assert len(list(mailbox.Maildir(tmp_path / "outbox", create=False))) == 1
