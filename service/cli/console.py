"""What every `newsletter` subcommand shares: the consoles, and domain errors turned into
messages and exit codes (2: bad usage or settings, 1: bad content or database)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from preferences.database import make_engine, upgrade
from preferences.links import LinkSigner
from preferences.store import customer_send_row

from service.assembly.render import Renderer
from service.content.check import load_content
from service.content.model import Content, Template
from service.content.problems import ContentError
from service.settings import Settings, SettingsError

# Piped output (CI logs, `make demo`) gets a wide table instead of rich's default 80 columns.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc


def renderer_for(cfg: Settings) -> Renderer:
    """The renderer of the send, for previews and plans that must match it byte for byte."""
    return Renderer(LinkSigner(cfg.link_keys), cfg.base_url, cfg.unsubscribe_mailto)


def parse_day(value: str | None) -> date:
    """An ISO date from the command line (today when not given)."""
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-23") from exc


def edition_day_or_exit(template: Template, day: date, force: bool, what: str) -> date:
    """``day``, or exit 2 when it is not an edition date of ``template`` (``send`` and ``preview``
    alike); ``force`` (the commands' --force, which ``what`` names: "sends it anyway") allows it."""
    refused = template.schedule.not_an_edition(day, template.id)
    if refused and not force:
        err.print(f"[red]error:[/] {refused}; --force {what}", markup=True)
        raise typer.Exit(2)
    return day


def load_or_exit(folder: Path) -> Content:
    """The checked content, or every error printed and exit 1."""
    try:
        return load_content(folder)
    except ContentError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False)
        err.print("[red]content has errors:[/] run `newsletter check` for the full report")
        raise typer.Exit(1) from exc


def safe_url(url: str) -> str:
    """A database URL fit for a message: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def database_or_exit(url: str, doing: str) -> Iterator[Engine]:
    """An engine for a command's work on the database at ``url``; a database error there becomes
    one message (``doing``: "cannot read customers from", ...) and exit 1."""
    engine = make_engine(url)
    try:
        yield engine
    except SQLAlchemyError as exc:
        err.print(f"[red]error:[/] {doing} {safe_url(url)}: {exc.__class__.__name__} "
                  "(run `newsletter db upgrade` first?)", markup=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def customer_row_or_exit(cfg: Settings, external_id: str):
    """One customer in the send's row shape (preferences.store.customer_send_row), or exit 1."""
    with database_or_exit(cfg.database_url, "cannot read customers from") as engine, engine.connect() as conn:
        row = customer_send_row(conn, external_id=external_id)
    if row is None:
        err.print(f"[red]error:[/] no customer with external id {external_id!r}")
        raise typer.Exit(1)
    return row


def migrated_engine(cfg: Settings):
    """The database, migrated to the newest schema first."""
    try:
        upgrade(cfg.database_url)
    except SQLAlchemyError as exc:
        err.print(f"[red]error:[/] cannot migrate {safe_url(cfg.database_url)}: {exc.__class__.__name__}: "
                  f"{str(exc).splitlines()[0]}")
        raise typer.Exit(1) from exc
    return make_engine(cfg.database_url)
