"""`newsletter staff add|list|disable|password`: the staff accounts of the staff pages.

The password is asked twice without echo, or read from standard input (``--password-stdin``,
for provisioning scripts); it never travels on the command line. Every change is recorded in the
staff audit trail with who made it (``--as``, else the operating-system user). Exit codes: 0 done,
1 the database has a problem, 2 bad usage (an unknown team or account, a taken name, a weak
password)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from service.cli.console import err, load_or_exit, load_settings, migrated_engine, out, safe_url
from service.staff import accounts
from service.staff.passwords import Passwords, WeakPassword
from service.staff.tables import ROLES

staff_app = typer.Typer(no_args_is_help=True, help="Staff accounts of the preview, results and editor pages.")

AsOption = Annotated[Optional[str], typer.Option("--as", help="who makes the change (default: the OS user)")]
StdinOption = Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")]


def _actor(given: str | None) -> str:
    return given or getpass.getuser()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        err.print("[red]error:[/] the two passwords differ")
        raise typer.Exit(2)
    return first


def _run(change):
    cfg = load_settings()
    engine = migrated_engine(cfg)
    try:
        with engine.begin() as conn:
            return change(conn)
    except (accounts.StaffError, WeakPassword) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    except SQLAlchemyError as exc:
        err.print(f"[red]error:[/] database {safe_url(cfg.database_url)}: {exc.__class__.__name__}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


@staff_app.command("add")
def add(name: Annotated[str, typer.Argument(help="the sign-in name, e.g. lena.vogel")],
        email: Annotated[str, typer.Option("--email", help="their email address")],
        team: Annotated[Optional[str], typer.Option("--team", help="their team (content/teams.yaml)")] = None,
        role: Annotated[str, typer.Option("--role", help=f"one of {', '.join(ROLES)}")] = "editor",
        password_stdin: StdinOption = False, actor: AsOption = None) -> None:
    """Add a staff account."""
    if team is not None:
        teams = load_or_exit(load_settings().content_dir).teams
        if team not in teams:
            err.print(f"[red]error:[/] unknown team {team!r} (teams: {', '.join(sorted(teams))})")
            raise typer.Exit(2)
    password = _password(password_stdin)
    made = _run(lambda conn: accounts.add(conn, Passwords(), name, email, team, role, password, by=_actor(actor)))
    err.print(f"added {made.name} ({made.role}, team {made.team or 'all'})", markup=False)


@staff_app.command("list")
def list_accounts() -> None:
    """List the staff accounts."""
    found = _run(accounts.all_accounts)
    table = Table("name", "email", "team", "role", "state")
    for account in found:
        table.add_row(escape(account.name), escape(account.email), account.team or "(all)", account.role,
                      "disabled" if account.disabled else "active")
    out.print(table)


@staff_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="the account's name")], actor: AsOption = None) -> None:
    """Disable an account: it can no longer sign in and its sessions end; its history stays."""
    _run(lambda conn: accounts.disable(conn, name, by=_actor(actor)))
    err.print(f"disabled {name}; their sessions have ended", markup=False)


@staff_app.command("password")
def password(name: Annotated[str, typer.Argument(help="the account's name")], password_stdin: StdinOption = False,
             actor: AsOption = None) -> None:
    """Set a new password: every session of the account ends."""
    new = _password(password_stdin)
    _run(lambda conn: accounts.set_password(conn, Passwords(), name, new, by=_actor(actor)))
    err.print(f"new password for {name}; their sessions have ended", markup=False)
