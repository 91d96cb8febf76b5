"""The `newsletter` command: the only place that turns domain errors into messages and exit codes."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from .content import check_content, load_content
from .owners import codeowners
from .problems import ContentError
from .settings import Settings, SettingsError

app = typer.Typer(help="Newsletter content assembly, preference centre and scheduled send.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ContentOption = Annotated[Optional[Path], typer.Option("--content", help="content folder (default: settings)")]


def settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc


def content_dir(option: Path | None) -> Path:
    return option if option is not None else settings().content_dir


def parse_day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-23") from exc


@app.command()
def check(content: ContentOption = None,
          today: Annotated[Optional[str], typer.Option(help="judge dates as of this day (default: today)")] = None
          ) -> None:
    """Check every content file; print errors and warnings as path:line: message."""
    result = check_content(content_dir(content), parse_day(today))
    for problem in result.errors:
        out.print(f"{problem}", markup=False)
    for problem in result.warnings:
        out.print(f"{problem}", markup=False)
    summary = f"{len(result.errors)} error(s), {len(result.warnings)} warning(s)"
    if result.errors:
        err.print(f"[red]content check failed:[/] {summary}")
        raise typer.Exit(1)
    blocks = len(result.content.blocks) if result.content else 0
    err.print(f"[green]content OK:[/] {blocks} blocks, {summary}")


@app.command()
def owners(content: ContentOption = None) -> None:
    """Print a CODEOWNERS file that gives each team's block folder to its reviewers."""
    folder = content_dir(content)
    loaded = _load(folder)
    out.print(codeowners(loaded, Path(folder).as_posix().strip("/") or "content"), end="", markup=False)


def _load(folder: Path):
    try:
        return load_content(folder)
    except ContentError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False)
        err.print("[red]content has errors:[/] run `newsletter check` for the full report")
        raise typer.Exit(1) from exc


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
