"""`newsletter experiments`: the experiments of the editions with their arms' figures and
decisions; `newsletter experiments decide ID --arm b`: an operator's decision, recorded with who
(``--by``, else the OS user) and when. Exit codes: 0 done, 1 the database has a problem, 2 bad
usage or a decision refused (unknown experiment or arm, decided already, nothing to decide)."""

from __future__ import annotations

import getpass
from datetime import date
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from preferences.database import for_writes
from service.cli.console import database_or_exit, err, load_settings, out, parse_day
from service.content.check import load_content
from service.content.problems import ContentError
from service.experiments.decisions import DecisionRefused, decide_by_hand
from service.experiments.listing import ArmRow, experiment_rows
from service.experiments.measured import experiments_of
from service.results.refresh import refresh
from service.sending import phases
from service.sending.ledger import EditionKey

experiments_app = typer.Typer(invoke_without_command=True, no_args_is_help=False,
                              help="Experiments (arms of a block): their figures and decisions.")


@experiments_app.callback()
def show(ctx: typer.Context,
         template: Annotated[Optional[str], typer.Option("--template", help="only this template's editions")] = None,
         date_: Annotated[Optional[str], typer.Option("--date", help="only this edition date")] = None) -> None:
    """List the experiments of the editions, newest first: per arm its recipients, unique clickers,
    clicks, unique click rate, the confidence that it beats arm a, and the decision."""
    if ctx.invoked_subcommand is not None:
        return
    cfg = load_settings()
    content = _content(cfg)
    with database_or_exit(cfg.database_url, "cannot read the experiments from") as engine, engine.connect() as conn:
        rows = experiment_rows(conn, content, template, parse_day(date_) if date_ else None)
    if not rows:
        err.print("no experiment was sent yet (`newsletter send TEMPLATE --date D --test 10%` tests one)")
        return
    out.print(table(rows))


def table(rows: list[ArmRow]) -> Table:
    found = Table(title="experiments", title_justify="left")
    for name in ("edition", "experiment", "arm", "recipients", "clickers", "clicks", "unique click rate",
                 "confidence vs a", "decision", "decided by"):
        found.add_column(name, justify="right" if name in ("recipients", "clickers", "clicks", "unique click rate",
                                                          "confidence vs a") else "left",
                         no_wrap=name in ("edition", "experiment", "decided by"))
    for row in rows:
        decision = row.decision if row.decision in ("testing", "not tested") else (
            f"winner: {row.decision}" if row.winner else "")
        by = "" if row.decided_by is None or not row.winner else \
            f"{row.decided_by}, {row.decided_at:%Y-%m-%d %H:%M} UTC"
        found.add_row(escape(f"{row.template} {row.day}"), escape(row.experiment), escape(row.arm),
                      f"{row.recipients:,}", f"{row.clickers:,}", f"{row.clicks:,}", f"{row.rate:.1%}",
                      "" if row.confidence is None else f"{row.confidence:.1%}", escape(decision), escape(by))
    return found


@experiments_app.command("decide")
def decide(experiment: Annotated[str, typer.Argument(help="the experiment: the original block's story, "
                                                          "e.g. advice/heating-costs")],
           arm: Annotated[str, typer.Option("--arm", help="the arm the rest of the edition gets (a: the original)")],
           template: Annotated[Optional[str], typer.Option("--template", help="the tested edition's template")] = None,
           date_: Annotated[Optional[str], typer.Option("--date", help="the tested edition's date")] = None,
           by: Annotated[Optional[str], typer.Option("--by", help="who decides (default: the OS user)")] = None) -> None:
    """Decide an experiment of a tested edition by hand: the rest of the edition gets this arm
    (`newsletter send --due` sends it once every experiment of the edition is decided)."""
    cfg = load_settings()
    content = _content(cfg)
    who = (by or getpass.getuser()).strip()
    if not who:
        raise typer.BadParameter("--by: say who decides")
    with database_or_exit(cfg.database_url, "cannot record the decision in") as engine:
        refresh(engine)  # the hand decision is recorded with the figures as they are now
        edition = _edition(engine, experiment, template, parse_day(date_) if date_ else None)
        try:
            with for_writes(engine).begin() as conn:
                made = decide_by_hand(conn, content, edition, experiment, arm, who)
        except DecisionRefused as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from exc
    p = "" if made.p_value is None else f" (its confidence against a: {1 - made.p_value:.1%})"
    out.print(f"{edition.template} {edition.day}: experiment {made.experiment} decided: arm {made.arm}{p}, "
              f"by {made.decided_by} at {made.decided_at:%Y-%m-%d %H:%M} UTC; `newsletter send --due` sends the "
              "rest of the edition the winners once each of its experiments is decided", markup=False)


def _edition(engine, experiment: str, template: str | None, day: date | None) -> EditionKey:
    """The tested edition meant: the one named, else the one testing the experiment now."""
    if template and day:
        return EditionKey(template, day)
    with engine.connect() as conn:
        found = [EditionKey(r.template, r.edition_date) for r in phases.tested_runs(conn)
                 if phases.testing(r) and (template is None or r.template == template)
                 and (day is None or r.edition_date == day)
                 and experiment in experiments_of(conn, r.template, r.edition_date)]
    if len(found) == 1:
        return found[0]
    if not found:
        err.print(f"[red]error:[/] no edition is testing {escape(experiment)} now "
                  "(`newsletter experiments` lists them; --template and --date name one)")
    else:
        err.print(f"[red]error:[/] {len(found)} editions test {escape(experiment)}: "
                  + escape(", ".join(f"{e.template} {e.day}" for e in found)) + "; name one with --template and --date")
    raise typer.Exit(2)


def _content(cfg):
    try:
        return load_content(cfg.content_dir)
    except ContentError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False)
        err.print("[red]content has errors[/]")
        raise typer.Exit(1) from exc
