"""The link gate of `newsletter send`: mails with links that mailbox providers distrust (a base URL
without https, the demo's unsubscribe mailto; see Settings.untrusted_links) never reach a real
relay by accident.

An SMTP target is a real relay: the send refuses to start (exit 2, a settings problem) unless
the operator says ``--allow-insecure-links`` (a test relay, an intranet). Maildir and spool
targets, and dry runs, only warn: they are where such mails are looked at, not delivered.
"""

from __future__ import annotations

import typer

from service.cli.console import err
from service.delivery.base import Target
from service.delivery.smtp import SmtpTarget
from service.settings import Settings

ALLOW_OPTION = "--allow-insecure-links"


def check_links(cfg: Settings, target: Target | None, allow: bool) -> None:
    """Warn about untrusted links; exit 2 before an SMTP send with them unless ``allow``."""
    problems = cfg.untrusted_links()
    if not problems:
        return
    refuse = isinstance(target, SmtpTarget) and not allow
    for problem in problems:
        err.print(f"[red]error:[/] {problem}" if refuse else f"warning: {problem}", markup=True)
    if refuse:
        err.print(f"[red]not sent:[/] a real relay gets mails with these links only with {ALLOW_OPTION}")
        raise typer.Exit(2)
