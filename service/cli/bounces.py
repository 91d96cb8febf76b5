"""`newsletter bounces process --from SOURCE`: the bounce mailbox's reports, recorded.

The mailbox that receives mail to the return paths (NEWSLETTER_BOUNCE_ADDRESS with the
recipient in it: ``bounces+...@``) and the feedback-loop reports is a Maildir (``maildir:PATH``,
delivered by the mail server, fetchmail or the like) or an IMAP mailbox (``imap://USER@HOST/INBOX``
or ``imaps://...``, the password in NEWSLETTER_BOUNCE_IMAP_PASSWORD); cron runs this command over
it, e.g. every 10 minutes. Each new mail is read once: its DSN or ARF reports are matched and
recorded (``service.lifecycle.bounces``) in batches, each batch in one transaction, and the mails
marked seen only after it is committed; a mail whose reports match no customer is flagged too.
A mail that is no report it can read is moved into the folder ``Unparseable`` beside the
mailbox, flagged, for a person: kept and counted, never lost. Exit codes: 0 done, 1 the database
or the IMAP server failed (what was done so far stays done, the rest stays for the next run),
2 bad usage."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import SQLAlchemyError

from preferences.database import make_engine
from preferences.mail.bounce_mail import read_bounce_mails
from preferences.mail.sources import BadSource, MailboxUnavailable, MailSource, open_source
from preferences.suppression.return_path import ReturnPath
from service.cli.console import err, load_settings, safe_url
from service.lifecycle.bounces import Outcome, SoftBounceRule, Tally, record_batch

ASIDE = "Unparseable"
BATCH = 500  # reports per transaction
# A large mailbox is read by worker processes (one per core, up to 4) while this one records.
PARALLEL_FROM, MAX_PROCESSES = 2000, 4

bounces_app = typer.Typer(no_args_is_help=True, help="Bounce and complaint reports (DSN, ARF) from the bounce mailbox.")


class _Run:
    """One run over a mailbox: the reports of the mails read since the last batch, and the counts."""

    def __init__(self, folder: MailSource, record) -> None:
        self.folder, self.record = folder, record
        self.tally, self.read, self.nothing, self.unparseable = Tally(), 0, 0, 0
        self.aside: str | None = None
        self._mails: list[tuple[str, int]] = []  # (key, how many of the reports are its)
        self._reports: list = []

    def add(self, key: str, reports: list | None) -> None:
        self.read += 1
        if reports is None:
            self.aside = self.folder.set_aside(key, ASIDE)
            self.unparseable += 1
            return
        self.nothing += not reports
        self._mails.append((key, len(reports)))
        self._reports.extend(reports)
        if len(self._reports) >= BATCH:
            self.flush()

    @property
    def done(self) -> int:
        """Mails whose reports are committed (or that were kept aside), not waiting for a batch."""
        return self.read - len(self._mails)

    def flush(self) -> None:
        recorded = self.record(self._reports)
        self.tally.add(recorded)
        start = 0
        for key, count in self._mails:
            mine = recorded[start:start + count]
            start += count
            # A mail none of whose reports matched a customer is flagged for a person.
            self.folder.mark(key, understood=not mine or any(r.outcome != Outcome.UNMATCHED for r in mine))
        self._mails, self._reports = [], []


@bounces_app.command("process")
def process(source: Annotated[str, typer.Option(
        "--from", help="the bounce mailbox: maildir:PATH, imap://USER@HOST[:PORT]/MAILBOX or imaps://...")]) -> None:
    """Record the bounces and complaints that arrived since the last run."""
    cfg = load_settings()
    try:
        folder = open_source(source, cfg.bounce_imap_password)
    except BadSource as exc:
        err.print(f"[red]error:[/] {exc}", markup=True)
        raise typer.Exit(2) from exc
    except MailboxUnavailable as exc:
        err.print(f"[red]error:[/] {exc}", markup=True)
        raise typer.Exit(1) from exc
    return_path = ReturnPath(cfg.bounce_address, cfg.link_keys)
    rule = SoftBounceRule(cfg.soft_bounce_limit, cfg.soft_bounce_days)
    engine = make_engine(cfg.database_url)
    run = _Run(folder, lambda reports: record_batch(engine, reports, return_path, rule))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("ETA"),
               TimeRemainingColumn())
    try:
        with Progress(*columns, console=err, transient=True) as bar:
            total = folder.count_unread()
            task = bar.add_task(f"reading {folder}", total=total)
            processes = min(os.cpu_count() or 1, MAX_PROCESSES) if total >= PARALLEL_FROM else 1
            for key, reports in read_bounce_mails(folder.unread_bytes(), processes=processes):
                run.add(key, reports)
                bar.advance(task)
            run.flush()
    except SQLAlchemyError as exc:
        err.print(f"[red]error:[/] database {safe_url(cfg.database_url)}: {exc.__class__.__name__}; "
                  f"{run.done} mails were done, the rest stays for the next run")
        raise typer.Exit(1) from exc
    except MailboxUnavailable as exc:
        err.print(f"[red]error:[/] {exc}; the mails not marked yet stay for the next run")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
        folder.close()
    _print(run)


def _print(run: _Run) -> None:
    t = run.tally
    err.print(f"{run.read} mails read: {t[Outcome.HARD]} hard bounces, {t[Outcome.SOFT]} soft bounces, "
              f"{t[Outcome.COMPLAINT]} complaints; {t.suppressed} addresses suppressed", markup=False)
    err.print(f"{t[Outcome.DUPLICATE]} reports already recorded; {t[Outcome.UNMATCHED]} unmatched (no customer; "
              f"flagged in the mailbox); {run.nothing} mails needed nothing (delivered, relayed, not-spam)",
              markup=False)
    where = f", kept aside in {run.aside}" if run.aside else ""
    err.print(f"{run.unparseable} unparseable (no DSN or ARF report){where}", markup=False)
