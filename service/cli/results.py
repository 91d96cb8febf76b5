"""`newsletter results ...`: the figures of the editions (clicks, churn, the narrower choices),
refreshing the rollups, and pruning old clicks.

``newsletter results TEMPLATE [--date D | --from D --to D] [--by ...] [--format table|csv|json]``
shows, by edition with the bounce and complaint rates, and in a table a warning line for each
edition over a limit (complaints 0.1%, hard bounces 2%; a report, so still exit 0); ``refresh``
and ``prune`` are the jobs a send and cron run. Exit codes: 0 done, 1 the database has a
problem, 2 bad usage."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from preferences.database import make_engine
from service.cli.console import err, load_settings, out, parse_day, safe_url
from service.results.deliverability import Deliverability, deliverability_by_edition
from service.results.export import DELIVERABILITY_COLUMNS, columns, csv_text, records
from service.results.figures import BY, Figures, Period, choose_period, results_by
from service.results.refresh import refresh
from service.results.retention import oldest_kept, prune
from service.settings import Settings

class _ShowByDefault(TyperGroup):
    """``newsletter results weekly ...`` is ``newsletter results show weekly ...``."""

    def parse_args(self, ctx, args):
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["show", *args]
        return super().parse_args(ctx, args)


results_app = typer.Typer(cls=_ShowByDefault, no_args_is_help=True,
                          help="Results: clicks per block, team and segment, churn, the rollups behind them.")


@results_app.command("show")
def show(template: Annotated[str, typer.Argument(help="template name, e.g. weekly")],
         date_: Annotated[Optional[str], typer.Option("--date", help="one edition")] = None,
         first: Annotated[Optional[str], typer.Option("--from", help="first edition date of a range")] = None,
         last: Annotated[Optional[str], typer.Option("--to", help="last edition date of a range")] = None,
         by: Annotated[str, typer.Option(help="edition, segment, variant, block, team, link or product-group")] = "edition",
         team: Annotated[Optional[str], typer.Option(help="only this team's blocks and links")] = None,
         format_: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table") -> None:
    """Show the results of the editions: unique clickers, clicks and click rate over the recipients
    who got what is measured, machine clicks apart, unsubscribes, and the narrower choices."""
    if by not in BY:
        raise typer.BadParameter(f"--by must be one of {', '.join(BY)}")
    if format_ not in ("table", "csv", "json"):
        raise typer.BadParameter("--format must be table, csv or json")
    if date_ and (first or last):
        raise typer.BadParameter("--date or --from/--to, not both")
    cfg = load_settings()
    engine = make_engine(cfg.database_url)
    try:
        with engine.connect() as conn:
            period = _period(conn, template, by, date_, first, last)
            rows = results_by(conn, period, by, team) if period else []
            rates = deliverability_by_edition(conn, period) if rows else {}
    except SQLAlchemyError as exc:
        _database_error(cfg, exc)
    finally:
        engine.dispose()
    if not rows:
        err.print(f"no results for {template}{'' if period is None else f' {_span(period)}'}: was it sent, and "
                  "did `newsletter results refresh` run since?")
        return
    if format_ == "csv":
        out.file.write(csv_text(rows, by, rates))
    elif format_ == "json":
        out.file.write(json.dumps({"template": template, "from": period.first.isoformat(),
                                   "to": period.last.isoformat(), "by": by, "rows": records(rows, by, rates)},
                                  ensure_ascii=False, indent=2) + "\n")
    else:
        out.print(_table(rows, by, rates, f"{template} {_span(period)} by {by}"))
        _print_warnings(template, rates)


@results_app.command("refresh")
def refresh_command(everything: Annotated[bool, typer.Option(
        "--all", help="rewrite the rollups of every edition, changed or not")] = False) -> None:
    """Judge the new clicks (people or link scanners) and rewrite the rollups of the editions that
    changed: a send runs it when it ends; cron, for the clicks after (e.g. every 10 minutes)."""
    cfg = load_settings()
    engine = make_engine(cfg.database_url)
    try:
        done = refresh(engine, everything=everything, oldest=oldest_kept(date.today(), cfg.results_retention_days))
    except SQLAlchemyError as exc:
        _database_error(cfg, exc)
    finally:
        engine.dispose()
    names = ", ".join(f"{t} {d}" for t, d in done.editions) or "none changed"
    err.print(f"results refreshed in {done.seconds:.2f} s: {len(done.editions)} editions ({names}), "
              f"{done.judged} new clicks judged")


@results_app.command("prune")
def prune_command() -> None:
    """Delete the clicks of editions older than the retention (NEWSLETTER_RESULTS_RETENTION_DAYS,
    13 months by default); their rollups, which name no customer, stay."""
    cfg = load_settings()
    engine = make_engine(cfg.database_url)
    try:
        done = prune(engine, oldest_kept(date.today(), cfg.results_retention_days))
    except SQLAlchemyError as exc:
        _database_error(cfg, exc)
    finally:
        engine.dispose()
    err.print(f"pruned {done.clicks} clicks of editions before {done.before} "
              f"(retention {cfg.results_retention_days} days)")


def refresh_after_send(engine, cfg: Settings) -> None:
    """The send's last step: its results pages count the new deliveries. A failure here leaves
    the send as it is (done) and says how to catch up."""
    try:
        done = refresh(engine, oldest=oldest_kept(date.today(), cfg.results_retention_days))
    except SQLAlchemyError as exc:
        err.print(f"[yellow]note:[/] results not refreshed ({exc.__class__.__name__}); "
                  "run `newsletter results refresh`")
        return
    err.print(f"results refreshed ({len(done.editions)} editions, {done.seconds:.2f} s)")


def _period(conn, template: str, by: str, date_, first, last) -> Period | None:
    if date_:
        day = parse_day(date_)
        return Period(template, day, day)
    low, high = parse_day(first) if first else None, parse_day(last) if last else None
    if low and high and low > high:
        raise typer.BadParameter(f"--from {low} is after --to {high}")
    return choose_period(conn, template, by, low, high)


def _span(period: Period) -> str:
    return str(period.first) if period.first == period.last else f"{period.first} to {period.last}"


def _print_warnings(template: str, rates: dict[date, Deliverability]) -> None:
    """One line per limit an edition passed, after the table (any ``--by``: they matter more)."""
    for day, found in rates.items():
        for warning in found.warnings:
            out.print(f"[bold red]warning:[/] {escape(template)} {day}: {escape(warning.text)}", soft_wrap=True)


def _table(rows: list[Figures], by: str, rates: dict[date, Deliverability], title: str) -> Table:
    # In csv and json only: the segments, the measured, the counts behind the bounce rates.
    hidden = ("segments", "measured", "sent", "hard_bounces", "soft_bounces", "complaints", "warnings")
    names = [name for name in columns(by) if name not in hidden]
    table = Table(title=title, title_justify="left")
    for name in names:
        table.add_column(by if name == "key" else _HEADERS.get(name, name),
                         justify="right" if name not in _TEXT else "left", overflow="fold")
    for values in records(rows, by, rates):
        table.add_row(*(escape(_shown(name, values[name])) for name in names))  # labels and ids are text
    return table


_HEADERS = {"click_rate": "rate", "machine_clicks": "machine", "unsubscribes": "unsub.",
            "unsubscribe_rate": "churn", "narrowed": "narrowed instead", "narrowed_rate": "rate",
            "changes": "their choices", "hard_bounce_rate": "hard b.", "soft_bounce_rate": "soft b.",
            "complaint_rate": "compl."}
_TEXT = ("key", "title", "team", "segments", "url", "changes")


def _shown(name: str, value) -> str:
    if name in DELIVERABILITY_COLUMNS:
        return f"{value:.2%}"  # the complaint limit is 0.1%
    if name.endswith("_rate"):
        return f"{value:.1%}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {n}" for k, n in value.items())
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


def _database_error(cfg: Settings, exc: SQLAlchemyError):
    err.print(f"[red]error:[/] database {safe_url(cfg.database_url)}: {exc.__class__.__name__} "
              "(run `newsletter db upgrade` first?)", markup=True)
    raise typer.Exit(1) from exc


@results_app.command("demo-clicks")
def demo_clicks(outbox: Annotated[str, typer.Option("--from", help="the demo send's Maildir, maildir:PATH")]
                = "maildir:./outbox") -> None:
    """Simulate the demo's readers: clicks through the real redirect, link scanners, a few
    one-click unsubscribes; then refresh the results. Only for the demo."""
    from service.cli.demo_clicks import simulate

    if not outbox.startswith("maildir:"):
        raise typer.BadParameter("--from must be maildir:PATH (the demo send's outbox)")
    folder = Path(outbox.removeprefix("maildir:"))
    if not (folder / "new").is_dir():
        err.print(f"[red]error:[/] {folder} is not a Maildir with messages (run the demo send first)")
        raise typer.Exit(2)
    cfg = load_settings()
    done = simulate(cfg, folder)
    err.print(f"demo readers: {done.clicks} clicks from {done.messages} messages, {done.scanner_clicks} "
              f"link-scanner clicks, {done.unsubscribes} one-click unsubscribes"
              + (f", [red]{done.failed} requests failed[/]" if done.failed else ""))
    engine = make_engine(cfg.database_url)
    try:
        refresh_after_send(engine, cfg)
    finally:
        engine.dispose()
    if done.failed:
        raise typer.Exit(1)
