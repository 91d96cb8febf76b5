"""`newsletter archive prune`, and the archived mail `newsletter preview --customer` shows for an
edition that customer was sent (service/sending/archive.py keeps what was sent)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated

import typer

from preferences.database import for_writes, make_engine

from service.assembly.recipient import Recipient
from service.cli.console import database_or_exit, err, load_settings, renderer_for
from service.sending import archive
from service.sending.ledger import EditionKey
from service.settings import Settings

archive_app = typer.Typer(help="The archive of sent mails (what the web versions show).", no_args_is_help=True)
_DAYS = re.compile(r"(\d{1,6})d")


def oldest_kept(value: str, today: date) -> date:
    """``--older-than``'s value as the first edition date kept: ``400d`` (days before today) or a
    date (2025-11-01: editions dated before it are pruned)."""
    days = _DAYS.fullmatch(value.strip())
    if days:
        return today - timedelta(days=int(days.group(1)))
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither a number of days like 400d nor a date like 2025-11-01",
                                 param_hint="--older-than") from None


@archive_app.command("prune")
def prune_command(older_than: Annotated[str, typer.Option(
        "--older-than", help="400d (days before today) or a date: the archives of editions dated before it")]) -> None:
    """Delete the archived mails of editions older than that; their web versions then answer the
    404 page of a link that no longer works (the ledger keeps who was sent what)."""
    before = oldest_kept(older_than, date.today())
    with database_or_exit(load_settings().database_url, "cannot prune the archive in") as engine, \
            for_writes(engine).begin() as conn:
        done = archive.prune(conn, before)
    err.print(f"pruned the archive of {done.editions} editions dated before {before.isoformat()}: "
              f"{done.bodies} bodies, {done.compressed_bytes / 1e6:.1f} MB")


def sent_html(cfg: Settings, template: str, day: date, recipient: Recipient) -> str | None:
    """The customer's mail of this edition as it was sent (their current personal values), when
    the ledger has it archived; None otherwise (not sent, or before the archive: render it)."""
    engine = make_engine(cfg.database_url)
    try:
        with engine.connect() as conn:
            sent = archive.sent_copy(conn, EditionKey(template, day), recipient.customer_id)
    finally:
        engine.dispose()
    if sent is None:
        return None
    if sent.body is None:
        err.print(f"[yellow]note:[/] this customer was sent {template} {day} as {sent.variant}, but its archive "
                  "was pruned: rendered from the current content, which may differ from what was sent")
        return None
    err.print(f"sent {sent.sent_at:%Y-%m-%d %H:%M} UTC as variant {sent.variant} (archived body "
              f"{sent.digest[:12]}): the mail as it was sent, whatever changed since")
    return renderer_for(cfg).sent_html(sent.body, recipient)

