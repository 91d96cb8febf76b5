"""`newsletter unsubscribes process --from maildir:PATH`: the unsubscribe mails, applied.

The mailbox that receives mail to NEWSLETTER_UNSUBSCRIBE_MAILTO is delivered into a Maildir
(by the mail server, fetchmail or the like); cron runs this command over it, e.g. every 10
minutes. Each new message is read once: an unsubscribe request with a valid token unsubscribes
its customer (channel ``mailto``, the edition it names) and is marked seen; a message that is not
one is marked seen and flagged for a person to read. Marks are Maildir flags (the message moves
from new/ to cur/), so nothing is deleted and a second run does nothing twice. Exit codes: 0
done, 1 the database has a problem (what was done so far stays done), 2 bad usage."""

from __future__ import annotations

import mailbox
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from preferences.database import for_writes, make_engine
from preferences.links import LinkSigner
from preferences.mail.unsubscribe import Outcome, read_request, unsubscribe_by_mail
from service.cli.console import err, load_settings, safe_url

unsubscribes_app = typer.Typer(no_args_is_help=True, help="Unsubscribe mails (the List-Unsubscribe mailto).")


@unsubscribes_app.command("process")
def process(source: Annotated[str, typer.Option("--from", help="the unsubscribe mailbox, maildir:PATH")]) -> None:
    """Apply the unsubscribe mails that arrived since the last run."""
    if not source.startswith("maildir:"):
        raise typer.BadParameter("--from must be maildir:PATH")
    folder = Path(source.removeprefix("maildir:"))
    if not all((folder / sub).is_dir() for sub in ("new", "cur", "tmp")):
        err.print(f"[red]error:[/] {folder} is not a Maildir (it needs new/, cur/ and tmp/)")
        raise typer.Exit(2)
    cfg = load_settings()
    signer, engine = LinkSigner(cfg.link_keys), make_engine(cfg.database_url)
    box = mailbox.Maildir(folder, factory=None, create=False)
    counts: Counter = Counter()
    try:
        for key in sorted(box.keys()):
            message = box.get_message(key)
            if message.get_subdir() != "new" and "S" in message.get_flags():
                continue  # read in an earlier run
            subject = message_from_bytes(box.get_bytes(key), policy=policy.default).get("Subject")
            with Session(for_writes(engine)) as session:
                outcome = unsubscribe_by_mail(session, signer, read_request(str(subject or "")))
                session.commit()
            message.set_subdir("cur")
            message.add_flag("S" if outcome is not Outcome.NOT_UNDERSTOOD else "SF")
            box[key] = message
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
