"""Staff accounts on SQLite and PostgreSQL: adding, signing in (recorded either way), ending
sessions by epoch, disabling; the tables as the migration makes them; passwords and sessions."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlmodel import SQLModel

from service.staff import accounts
from service.staff.passwords import Passwords, WeakPassword
from service.staff.sessions import Sessions
from service.staff.tables import staff_event
from send_fixtures import db_url, engine, migrated_postgres_url  # noqa: F401

# Cheap parameters: the defaults cost ~100 ms a hash, the point here is the logic.
PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
GOOD = "correct horse battery"


def events(engine):
    with engine.connect() as conn:
        return [(r.actor, r.action) for r in conn.execute(select(staff_event).order_by(staff_event.c.id))]


def test_the_tables_are_the_migrations(engine):
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d for d in diffs if "staff" in repr(d)] == []


def test_add_sign_in_and_the_audit_trail(engine):
    with engine.begin() as conn:
        lena = accounts.add(conn, PASSWORDS, "lena", "Lena@Nordhaus.example", "advice", "editor", GOOD, by="ops")
        assert (lena.team, lena.role, lena.email, lena.disabled) == ("advice", "editor", "lena@nordhaus.example", False)
        assert lena.may_edit("advice") and not lena.may_edit("offers")
        assert accounts.any_accounts(conn)
    with engine.begin() as conn:
        assert accounts.sign_in(conn, PASSWORDS, "lena", GOOD, "c" * 64) == lena
        assert accounts.sign_in(conn, PASSWORDS, "lena", "wrong password!!") is None
        assert accounts.sign_in(conn, PASSWORDS, "nobody", GOOD) is None
    assert events(engine) == [("ops", "staff-added"), ("lena", "sign-in"), ("lena", "sign-in-failed"),
                              ("nobody", "sign-in-failed")]


@pytest.mark.parametrize("name, email, team, role, password, why", [
    ("Lena", "l@n.example", "advice", "editor", GOOD, "lowercase"),
    ("lena", "not-an-email", "advice", "editor", GOOD, "not an email"),
    ("lena", "l@n.example", "advice", "boss", GOOD, "role is one of"),
    ("lena", "l@n.example", None, "editor", GOOD, "belongs to a team"),
])
def test_bad_accounts_are_refused_with_why(engine, name, email, team, role, password, why):
    with engine.begin() as conn, pytest.raises(accounts.StaffError, match=why):
        accounts.add(conn, PASSWORDS, name, email, team, role, password, by="ops")


def test_a_taken_name_or_email_and_a_weak_password_are_refused(engine):
    with engine.begin() as conn:
        accounts.add(conn, PASSWORDS, "lena", "lena@n.example", "advice", "editor", GOOD, by="ops")
        with pytest.raises(accounts.StaffError, match="exists already"):
            accounts.add(conn, PASSWORDS, "lena", "other@n.example", "advice", "editor", GOOD, by="ops")
        with pytest.raises(accounts.StaffError, match="exists already"):
            accounts.add(conn, PASSWORDS, "lena2", "LENA@n.example", "advice", "editor", GOOD, by="ops")
        for weak in ("short", "aaaaaaaaaaaaaaaa", "x" * 2000):
            with pytest.raises(WeakPassword):
                accounts.add(conn, PASSWORDS, "tom", "tom@n.example", "offers", "editor", weak, by="ops")


def test_a_password_change_or_a_disable_ends_every_session(engine):
    with engine.begin() as conn:
        admin = accounts.add(conn, PASSWORDS, "ada", "ada@n.example", None, "admin", GOOD, by="ops")
        assert admin.may_edit("offers") and admin.may_edit("advice")
        changed = accounts.set_password(conn, PASSWORDS, "ada", "another good secret", by="ada")
        assert changed.session_epoch == admin.session_epoch + 1
        assert accounts.sign_in(conn, PASSWORDS, "ada", GOOD) is None
        assert accounts.sign_in(conn, PASSWORDS, "ada", "another good secret") is not None
        disabled = accounts.disable(conn, "ada", by="ops")
        assert disabled.disabled and disabled.session_epoch == changed.session_epoch + 1 and not disabled.may_edit("x")
        assert accounts.sign_in(conn, PASSWORDS, "ada", "another good secret") is None
        with pytest.raises(accounts.StaffError, match="no staff account"):
            accounts.disable(conn, "nobody", by="ops")


def test_a_session_token_is_signed_dated_and_nothing_else_reads():
    sessions = Sessions(b"s" * 32, secure=True)
    token = sessions.token(7, 3)
    assert sessions.read(token) == (7, 3)
    assert Sessions(b"t" * 32, secure=True).read(token) is None
    for junk in (None, "", "x" * 600, token[:-2] + "AA", "garbage.token"):
        assert sessions.read(junk) is None
    header = sessions.set_cookie_header(token)
    assert header.startswith("__Host-staff=") and "HttpOnly" in header and "Secure" in header
    assert "SameSite=Lax" in header and "Max-Age=0" in sessions.clear_cookie_header()
    assert Sessions(b"s" * 32, secure=False).cookie == "staff"


def test_an_unknown_name_is_checked_against_a_hash_all_the_same():
    # So that a wrong name costs the argon2 time of a wrong password: names do not leak by timing.
    checked = []

    class Counting(PasswordHasher):
        def verify(self, hash, password):
            checked.append(hash)
            return super().verify(hash, password)

    passwords = Passwords(Counting(time_cost=1, memory_cost=8192, parallelism=1))
    stored = passwords.hash(GOOD)
    assert not passwords.verify(None, GOOD) and not passwords.verify(stored, "wrong password!!")
    assert len(checked) == 2 and checked[0].startswith("$argon2id$") and checked[0] != stored
