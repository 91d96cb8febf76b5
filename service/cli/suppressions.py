"""`newsletter suppressions list|add|remove`: the addresses the send never mails, for operators.

An address is suppressed by a hard bounce, by soft bounces past their limit, by a complaint (see
`newsletter bounces`), or here by hand (reason ``manual``, with a note). Removing one lets the
next edition reach it again; both are consent events of the customer (channel ``operator``, with
who did it: ``--as``, else the operating-system user). Exit codes: 0 done, 1 the database has a
problem, 2 bad usage (an unknown reason, an address that is not one or not on the list)."""

from __future__ import annotations

import getpass
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from preferences.customers import normalise_email
from preferences.errors import InvalidInput
from preferences.models import Channel
from preferences.suppression import store
from preferences.suppression.tables import REASONS
from service.cli.console import err, load_settings, migrated_engine, out, safe_url

suppressions_app = typer.Typer(no_args_is_help=True, help="The suppression list: addresses never mailed.")
AsOption = Annotated[Optional[str], typer.Option("--as", help="who makes the change (default: the OS user)")]


def _run(work):
    cfg = load_settings()
    engine = migrated_engine(cfg)
    try:
        with engine.begin() as conn:
            return work(conn)
    except SQLAlchemyError as exc:
        err.print(f"[red]error:[/] database {safe_url(cfg.database_url)}: {exc.__class__.__name__}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def _address(value: str) -> str:
    try:
        return normalise_email(value)
    except ValueError as exc:
        err.print(f"[red]error:[/] {value!r} is not an email address: {exc}")
        raise typer.Exit(2) from exc


@suppressions_app.command("list")
def list_suppressions(
    reason: Annotated[Optional[str], typer.Option("--reason", help=f"only one of {', '.join(REASONS)}")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="at most this many")] = 1000,
) -> None:
    """List the suppressed addresses (in address order)."""
    if reason is not None and reason not in REASONS:
        err.print(f"[red]error:[/] unknown reason {reason!r} (one of {', '.join(REASONS)})")
        raise typer.Exit(2)
    found = _run(lambda conn: store.listed(conn, reason=reason, limit=limit))
    table = Table("address", "reason", "since", "detail", "by")
    for item in found:
        table.add_row(escape(item.address), item.reason, f"{item.created_at:%Y-%m-%d %H:%M}",
                      escape(item.detail or ""), escape(item.actor or ""))
    out.print(table)
    err.print(f"{len(found):,} suppressed address{'es' if len(found) != 1 else ''}"
              + (f" (the first {limit:,}; --limit shows more)" if len(found) == limit else ""), markup=False)


@suppressions_app.command("add")
def add(email: Annotated[str, typer.Argument(help="the address")],
        note: Annotated[str, typer.Option("--note", help="why, for whoever reads the list later")],
        actor: AsOption = None) -> None:
    """Suppress an address by hand (reason manual)."""
    def work(conn):
        try:
            return store.suppress_by_hand(conn, email, note, Channel.OPERATOR, actor=actor or getpass.getuser())
        except InvalidInput as invalid:
            for field, message in invalid.errors.items():
                given = email if field == "email" else note
                err.print(f"[red]error:[/] {escape(field)} {escape(repr(given))}: {escape(message)}")
            raise typer.Exit(2) from invalid

    found, added = _run(work)
    err.print(f"{found.address} suppressed" if added
              else f"{found.address} was suppressed already (for {found.reason}; the first reason stands)", markup=False)


@suppressions_app.command("remove")
def remove(email: Annotated[str, typer.Argument(help="the address")], actor: AsOption = None) -> None:
    """Take an address off the list: the next edition reaches it again."""
    address = _address(email)
    lifted = _run(lambda conn: store.lift(conn, address, Channel.OPERATOR, actor=actor or getpass.getuser()))
    if lifted is None:
        err.print(f"[red]error:[/] {address} is not on the suppression list")
        raise typer.Exit(2)
    err.print(f"{address} removed (it was suppressed for {lifted.reason} since {lifted.created_at:%Y-%m-%d})",
              markup=False)
