"""`newsletter customers ...`: import customers from a CRM's CSV export, and write a demo file.

Registered in service/cli/main.py with ``app.add_typer(customers_app, name="customers")``. Like the
rest of the CLI, this is where domain errors become messages (``FILE:line: message``) and exit
codes: 0 done, 1 the file or the database has a problem (nothing or only part imported, as
said), 2 bad usage, 3 imported, but confirmation mails to new pending customers could not be sent yet
(they wait in the outbox).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from preferences.csv_import import Counts, ImportFileError, RowError, find_conflicts, import_rows, read_csv
from preferences.errors import Conflicts
from preferences.links import LinkSigner, Purpose

from service.cli.console import (customer_row_or_exit, err, load_or_exit, load_settings, migrated_engine, out,
                                 safe_url)
from service.cli.demo_customers import write_demo_csv
from service.content.model import Content
from service.delivery.smtp import hide_password
from service.lifecycle.outbox_worker import Drained, outbox_worker
from service.settings import Settings

customers_app = typer.Typer(help="Customers: import from the CRM's CSV export, demo data.",
                            no_args_is_help=True)

PROGRESS_FROM_ROWS = 2000  # smaller files are done before a bar would be worth drawing

ContentOption = Annotated[Optional[Path], typer.Option("--content", help="content folder (default: settings)")]


@customers_app.command("import")
def import_customers(
    file: Annotated[Path, typer.Argument(help="CSV with a header: external_id, email, first_name, locale, "
                                              "status and attribute columns", exists=True, dir_okay=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check and count, write nothing")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="import the good rows, skip the bad ones")] = False,
    overwrite_preferences: Annotated[bool, typer.Option(
        "--overwrite-preferences", help="replace a language the customer chose on the preference page "
                                        "with the file's (kept by default)")] = False,
    content: ContentOption = None,
) -> None:
    """Upsert customers by external id from a CSV file; every bad row is reported as FILE:line: message."""
    cfg = load_settings()
    loaded = load_or_exit(content or cfg.content_dir)
    shown = str(file)
    try:
        checked = read_csv(file, schema=loaded.audience.attributes, locales=loaded.audience.locales)
    except ImportFileError as exc:
        for line, message in exc.problems:
            out.print(f"{shown}:{line}: {message}", markup=False)
        err.print("[red]cannot import this file:[/] nothing was imported")
        raise typer.Exit(1) from exc
    except OSError as exc:
        err.print(f"[red]error:[/] cannot read {shown}: {exc.strerror or exc}")
        raise typer.Exit(1) from exc

    engine = migrated_engine(cfg)
    try:
        with Session(engine) as session:
            checked.drop(find_conflicts(session, checked.rows))
        _report(shown, checked.errors)
        bad, good = len(checked.errors), len(checked.rows)
        if bad and not skip_invalid and not dry_run:
            err.print(f"[red]{_rows(bad)} {'has' if bad == 1 else 'have'} errors; nothing was imported;[/] "
                      f"use --skip-invalid to import the {good:,} good rows")
            raise typer.Exit(1)
        counts = _import(engine, checked, loaded, dry_run=dry_run, overwrite_preferences=overwrite_preferences)
        drained = _send_confirmations(cfg, engine, loaded) if counts.confirmations and not dry_run else None
    except Conflicts as exc:
        _report(shown, [RowError(line, fields) for line, fields in sorted(exc.lines.items())])
        err.print("[red]import stopped:[/] a concurrent change took these email addresses; the batches "
                  "before the first of these lines were imported, run the import again")
        raise typer.Exit(1) from exc
    except SQLAlchemyError as exc:
        err.print(f"[red]error:[/] database {safe_url(cfg.database_url)}: {exc.__class__.__name__}: "
                  f"{str(exc).splitlines()[0]}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()

    blocked = bad and dry_run and not skip_invalid  # the real run would stop at the bad rows
    _summary(counts, dry_run, blocked=bad if blocked else 0)
    if drained is not None:
        out.print(f"confirmation mails to new pending customers: {drained.sent:,} sent")
        if drained.sent < counts.confirmations:
            err.print(f"[yellow]{counts.confirmations - drained.sent:,} confirmation mail(s) not sent yet[/] through "
                      f"{escape(hide_password(cfg.relay))}: they wait in the outbox and go out with the next "
                      "`newsletter send --due` (or the web app's outbox worker); see the log")
            raise typer.Exit(3)
    if blocked:
        err.print(f"[red]dry run: {_rows(bad)} {'has' if bad == 1 else 'have'} errors;[/] use --skip-invalid "
                  f"to import the {good:,} good rows")
        raise typer.Exit(1)
    if bad and not good:
        err.print("[red]no row could be imported[/]")
        raise typer.Exit(1)


@customers_app.command("demo-csv")
def demo_csv(
    file: Annotated[Path, typer.Argument(help="where to write the CSV", dir_okay=False)],
    count: Annotated[int, typer.Option("--count", min=1, help="how many customers")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="the same seed gives the same file on a day")] = 7,
    content: ContentOption = None,
) -> None:
    """Write a CSV of realistic demo customers over the content's attributes, for `customers import`."""
    loaded = load_or_exit(content or load_settings().content_dir)
    try:
        write_demo_csv(file, count, loaded, seed=seed)
    except OSError as exc:
        err.print(f"[red]error:[/] cannot write {file}: {exc.strerror or exc}")
        raise typer.Exit(1) from exc
    err.print(f"wrote {count:,} demo customers to {file}")


def _import(engine, checked, loaded: Content, *, dry_run: bool, overwrite_preferences: bool) -> Counts:
    total = len(checked.rows)
    show = err.is_terminal and total >= PROGRESS_FROM_ROWS
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=not show) as progress:
        task = progress.add_task("checking" if dry_run else "importing", total=total)
        return import_rows(engine, checked, default_locale=loaded.audience.default_locale, dry_run=dry_run,
                           on_progress=lambda done: progress.advance(task, done),
                           overwrite_preferences=overwrite_preferences)


def _send_confirmations(cfg: Settings, engine, loaded: Content) -> Drained:
    """Send the confirmations the import queued (and whatever else the outbox owes) right away,
    through the transactional relay; what the relay does not take waits in the outbox."""
    return outbox_worker(cfg, engine, lambda: loaded).drain()


def _report(shown: str, errors: list[RowError]) -> None:
    for error in errors:
        for message in error.messages():
            out.print(f"{shown}:{error.line}: {message}", markup=False)


def _summary(counts: Counts, dry_run: bool, blocked: int = 0) -> None:
    """One line of counts; ``blocked``: the bad rows that make a real run import nothing, so the
    counts are what it would do with --skip-invalid (and the line says so first)."""
    verb = "would be " if dry_run else ""
    lead = "dry run, nothing written: " if dry_run else ""
    if blocked:
        lead += f"a real run would import nothing ({_rows(blocked)} with errors); with --skip-invalid: "
    out.print(f"{lead}{counts.created:,} {verb}created, {counts.updated:,} {verb}updated, "
              f"{counts.unchanged:,} unchanged, {counts.skipped:,} skipped in {counts.seconds:.1f} s")
    if counts.kept:
        out.print("kept, as the customers set them: " + ", ".join(
            f"{KEPT_WORDS.get(name, name)} of {_customers(n)}" for name, n in sorted(counts.kept.items())))


KEPT_WORDS = {"locale": "the language chosen on the preference page (--overwrite-preferences replaces it)",
              "status": "unsubscribed (only the customer can subscribe again)"}


def _customers(count: int) -> str:
    return f"{count:,} customer" + ("" if count == 1 else "s")


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")









@customers_app.command("link")
def link(external_id: Annotated[str, typer.Argument(help="the customer's CRM id, e.g. CRM-000001")]) -> None:
    """Print a customer's personal preference-centre link (for support staff and the demo)."""
    cfg = load_settings()
    row = customer_row_or_exit(cfg, external_id)
    out.print(LinkSigner(cfg.link_keys).url(cfg.base_url, row.public_id, Purpose.PREFERENCES), markup=False)
