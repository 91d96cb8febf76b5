"""Staff accounts and the audit trail of what staff did, queries named by intent.

An account has a name (what its owner signs in with, and the author of their git commits), an
email, a team (None for an admin of all teams) and a role: ``editor`` (edits the team's blocks),
``reviewer`` (also sets them ready), ``admin`` (everything, every team). Every staff action,
failed sign-ins included, is a ``staff_event``: who, what, when, from which client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from preferences.utc import utcnow
from service.staff.passwords import Passwords
from service.staff.tables import ADMIN, ROLES, staff, staff_event

_NAME = re.compile(r"[a-z][a-z0-9._-]{1,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class StaffError(ValueError):
    """A staff account that cannot be made or changed as asked, with why."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    email: str
    team: str | None
    role: str
    session_epoch: int
    disabled: bool

    def may_edit(self, team: str) -> bool:
        return not self.disabled and (self.role == ADMIN or self.team == team)


def _account(row) -> Account:
    return Account(row.id, row.name, row.email, row.team, row.role, row.session_epoch, row.disabled_at is not None)


def record(conn: Connection, action: str, actor: str, *, staff_id: int | None = None, detail: str | None = None,
           client_hash: str | None = None) -> None:
    """One staff action in the audit trail."""
    conn.execute(staff_event.insert().values(staff_id=staff_id, actor=actor[:64], action=action[:32],
                                             detail=detail, client_hash=client_hash, at=utcnow()))


def add(conn: Connection, passwords: Passwords, name: str, email: str, team: str | None, role: str, password: str,
        *, by: str) -> Account:
    """A new account; StaffError for a bad name, email, role or a taken name or email."""
    if not _NAME.fullmatch(name):
        raise StaffError(f"{name!r}: a name is 2-64 lowercase letters, digits, '.', '_' or '-', starting with a letter")
    if not _EMAIL.fullmatch(email) or len(email) > 320:
        raise StaffError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise StaffError(f"{role!r}: the role is one of {', '.join(ROLES)}")
    if role != ADMIN and not team:
        raise StaffError(f"an {role} belongs to a team (--team)")
    digest = passwords.hash(password)
    try:
        with conn.begin_nested():
            new_id = conn.execute(staff.insert().values(
                name=name, email=email.lower(), team=team, role=role, password_hash=digest, session_epoch=1,
                created_at=utcnow()).returning(staff.c.id)).scalar_one()
    except IntegrityError:
        raise StaffError(f"an account named {name!r} or with the email {email!r} exists already") from None
    record(conn, "staff-added", by, staff_id=new_id, detail=f"{name} ({role}, team {team or 'all'})")
    return by_id(conn, new_id)  # type: ignore[return-value]


def by_id(conn: Connection, staff_id: int) -> Account | None:
    row = conn.execute(select(staff).where(staff.c.id == staff_id)).first()
    return None if row is None else _account(row)


def by_name(conn: Connection, name: str) -> Account | None:
    row = conn.execute(select(staff).where(staff.c.name == name)).first()
    return None if row is None else _account(row)


def all_accounts(conn: Connection) -> list[Account]:
    return [_account(row) for row in conn.execute(select(staff).order_by(staff.c.team, staff.c.name))]


def any_accounts(conn: Connection) -> bool:
    """Whether staff accounts are in use (then the shared preview password no longer opens anything)."""
    return conn.execute(select(func.count()).select_from(staff)).scalar_one() > 0


def sign_in(conn: Connection, passwords: Passwords, name: str, password: str,
            client_hash: str | None = None) -> Account | None:
    """The account if ``password`` is its own and it is not disabled; recorded either way."""
    row = conn.execute(select(staff).where(staff.c.name == name)).first() if isinstance(name, str) else None
    good = passwords.verify(row.password_hash if row is not None else None, password)
    if not good or row is None or row.disabled_at is not None:
        record(conn, "sign-in-failed", (name or "?") if isinstance(name, str) else "?",
               staff_id=row.id if row is not None else None, client_hash=client_hash,
               detail="disabled" if good and row is not None else None)
        return None
    if passwords.needs_rehash(row.password_hash):
        conn.execute(update(staff).where(staff.c.id == row.id).values(password_hash=passwords.hasher.hash(password)))
    record(conn, "sign-in", row.name, staff_id=row.id, client_hash=client_hash)
    return _account(row)


def set_password(conn: Connection, passwords: Passwords, name: str, password: str, *, by: str) -> Account:
    """A new password; every session of the account ends."""
    found = _must(conn, name)
    conn.execute(update(staff).where(staff.c.id == found.id).values(
        password_hash=passwords.hash(password), session_epoch=staff.c.session_epoch + 1))
    record(conn, "password-changed", by, staff_id=found.id, detail=name)
    return by_id(conn, found.id)  # type: ignore[return-value]


def disable(conn: Connection, name: str, *, by: str, at: datetime | None = None) -> Account:
    """The account can no longer sign in, and its sessions end; its history stays."""
    found = _must(conn, name)
    conn.execute(update(staff).where(staff.c.id == found.id).values(
        disabled_at=at or utcnow(), session_epoch=staff.c.session_epoch + 1))
    record(conn, "staff-disabled", by, staff_id=found.id, detail=name)
    return by_id(conn, found.id)  # type: ignore[return-value]


def end_sessions(conn: Connection, account: Account, *, by: str) -> None:
    """Sign the account out everywhere."""
    conn.execute(update(staff).where(staff.c.id == account.id).values(session_epoch=staff.c.session_epoch + 1))
    record(conn, "sign-out", by, staff_id=account.id)


def _must(conn: Connection, name: str) -> Account:
    found = by_name(conn, name)
    if found is None:
        raise StaffError(f"no staff account named {name!r}")
    return found
