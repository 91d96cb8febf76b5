"""`newsletter send TEMPLATE --date D --test-to ADDRESS[,ADDRESS]`: a test send to seed addresses
(service/cli/sending/seed.py): real variants, "[TEST] " in the subject, nothing in the ledger, so
it neither counts as anyone's delivery nor starts the edition for `send --due`."""

from __future__ import annotations

from datetime import date

import typer
from rich.markup import escape
from rich.table import Table

from service.cli.console import err, out
from service.content.model import Content
from service.delivery.base import SENT
from service.cli.sending.seed import seed_sample, send_seeds
from service.settings import Settings


def comma_list(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def send_test_mails(cfg: Settings, engine, content: Content, template: str, day: date, target: str,
                    addresses: tuple[str, ...], customers: tuple[str, ...], variants: int) -> int:
    """Send the test mails and print one line per mail; 0 when every one was sent, else 1."""
    if not addresses:
        raise typer.BadParameter("--test-to: give one or more email addresses, comma-separated")
    bad = [a for a in addresses if "@" not in a or any(c.isspace() or c in "<>," for c in a)]
    if bad:
        raise typer.BadParameter(f"--test-to: not an email address: {', '.join(bad)}")
    try:
        sample = seed_sample(engine, content, template, day, customers=customers, variants=variants,
                             experiment_key=cfg.experiment_key)
    except ValueError as exc:
        err.print(f"[red]error:[/] --test-customers: {exc}")
        raise typer.Exit(1) from exc
    if not sample:
        err.print("[red]error:[/] no active customer to render a test mail for (--test-customers chooses some)")
        return 1
    mails = send_seeds(cfg, content, template, day, target, addresses, sample)
    table = Table(title=f"test send of {template} {day} (not in the ledger; the edition is not started)",
                  title_justify="left")
    for column in ("customer", "variant", "to", "result"):
        table.add_column(column)
    for mail in mails:
        table.add_row(*map(escape, (mail.customer, mail.variant or "-", mail.to, f"{mail.state} {mail.answer}".strip())))
    out.print(table)
    return 0 if all(mail.state == SENT for mail in mails) else 1
