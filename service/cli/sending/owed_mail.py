"""What cron's ``newsletter send --due`` owes besides the editions and the welcome mails: the
outbox's mails and the double opt-in's time limits."""

from __future__ import annotations

from datetime import timedelta

from preferences.optin.expiry import expire_unconfirmed

from service.cli.console import err
from service.delivery.smtp import hide_password
from service.lifecycle.outbox_worker import outbox_worker
from service.settings import Settings


def send_owed_mail(cfg: Settings, engine, content) -> None:
    """What cron's `send --due` does besides the editions: send what the outbox owes (the
    confirmations the web app's worker could not send, e.g. while the relay was down) and
    apply the double opt-in's time limits."""
    drained = outbox_worker(cfg, engine, lambda: content).drain()
    with engine.begin() as conn:
        expired = expire_unconfirmed(conn, timedelta(days=cfg.unconfirmed_delete_days))
    if drained.sent or drained.deferred or drained.failed:
        err.print(f"outbox ({hide_password(cfg.relay)}): {drained.sent:,} sent, {drained.deferred:,} deferred "
                  f"(relay not taking mail: tried again later), {drained.failed:,} given up", markup=False)
    if expired.deleted or expired.unsubscribed:
        err.print(f"unconfirmed after {cfg.unconfirmed_delete_days} days: {expired.deleted:,} signups deleted, "
                  f"{expired.unsubscribed:,} former customers back to unsubscribed", markup=False)
