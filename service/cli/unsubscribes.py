"""`newsletter unsubscribes process --from maildir:PATH`: the unsubscribe mails, applied.

The mailbox that receives mail to NEWSLETTER_UNSUBSCRIBE_MAILTO is delivered into a Maildir
(by the mail server, fetchmail or the like); cron runs this command over it, e.g. every 10
minutes. Each new message is read once: an unsubscribe request with a valid token unsubscribes
its customer (channel ``mailto``, the edition it names) and is marked seen; a message that is not
one is marked seen and flagged for a person to read. Marks are Maildir flags (the message moves
from new/ to cur/), so nothing is deleted and a second run does nothing twice. Exit codes: 0
done, 1 the database has a problem (what was done so far stays done), 2 bad usage."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from preferences.database import for_writes, make_engine
from preferences.links import LinkSigner
from preferences.mail.maildir import MailFolder, NotAMaildir
from preferences.mail.unsubscribe import Outcome, read_request, unsubscribe_by_mail
from service.cli.console import err, load_settings, safe_url

unsubscribes_app = typer.Typer(no_args_is_help=True, help="Unsubscribe mails (the List-Unsubscribe mailto).")


@unsubscribes_app.command("process")
def process(source: Annotated[str, typer.Option("--from", help="the unsubscribe mailbox, maildir:PATH")]) -> None:
    """Apply the unsubscribe mails that arrived since the last run."""
    if not source.startswith("maildir:"):
        raise typer.BadParameter("--from must be maildir:PATH")
    try:
        folder = MailFolder(Path(source.removeprefix("maildir:")))
    except NotAMaildir as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    cfg = load_settings()
    signer, engine = LinkSigner(cfg.link_keys), make_engine(cfg.database_url)
    counts: Counter = Counter()
    try:
        for key, message in folder.unread():
            subject = message.get("Subject") if message is not None else None
            with Session(for_writes(engine)) as session:
                outcome = unsubscribe_by_mail(session, signer, read_request(str(subject or "")))
                session.commit()
            folder.mark(key, understood=outcome is not Outcome.NOT_UNDERSTOOD)
            counts[outcome] += 1
    except SQLAlchemyError as exc:
        err.print(f"[red]error:[/] database {safe_url(cfg.database_url)}: {exc.__class__.__name__}; "
                  f"{sum(counts.values())} mails were done, the rest stays for the next run")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    err.print(f"{sum(counts.values())} unsubscribe mails: {counts[Outcome.UNSUBSCRIBED]} unsubscribed, "
              f"{counts[Outcome.ALREADY]} already unsubscribed, {counts[Outcome.NOT_UNDERSTOOD]} not understood "
              "(flagged in the mailbox for a person)")
