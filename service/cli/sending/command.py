"""`newsletter send` and `newsletter report`: the scheduled send from the command line.

Registered on the main app by service/cli/main.py (``register(app)``). Domain errors become messages
and exit codes here (with several editions, the highest code):

- 0: the run is complete (a ``--limit`` test run: it did what it was asked);
- 1: an error, nothing sent: the content has errors, the edition's ``plan`` has errors (a required
  slot empty for a segment, ...; ``--allow-partial`` sends the rest), the database failed;
- 2: bad usage or settings: a date that is not an edition date, links a real relay must not get;
- 3: the run could not start or finish (the relay cannot be used at all, checked before any
  customer is claimed; it stayed unreachable; workers kept dying): run it again, it continues
  where it stopped;
- 4: the run is complete, but customers were not sent for content reasons (``--allow-partial``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import SQLAlchemyError

from preferences.database import make_engine

from service.cli.console import database_or_exit, edition_day_or_exit, err, load_settings, parse_day, safe_url
from service.cli.digest import decide_before_send
from service.cli.results import refresh_after_send
from service.cli.sending.display import RateColumn, print_report, print_test_run_note, progress_description
from service.cli.sending.gates import PLAN_REFUSED_EXIT, RELAY_UNREACHABLE_EXIT, check_relay, partial_exit, plan_allows
from service.cli.sending.links import ALLOW_OPTION, check_links
from service.cli.sending.owed_mail import send_owed_mail
from service.cli.sending.proofs import comma_list, send_test_mails
from service.cli.sending.tested import is_tested, only_held, parse_share, refuse_mismatch, run_tested, tested_editions
from service.content.check import load_content
from service.content.problems import ContentError
from service.settings import Settings
from service.delivery.base import BadTarget
from service.delivery.registry import parse_target
from service.sending import ledger
from service.sending.local_engine import WorkerError, run_inline, run_local
from service.sending.plan import PlanCounts, plan_run
from service.sending.report import Report
from service.sending.spec import SendSpec
from service.sending.due import due_editions, due_triggered, plan_triggered, unfinished
from service.sending.waiting import Waiting

INCOMPLETE_EXIT = RELAY_UNREACHABLE_EXIT


def send(
    template: Annotated[Optional[str], typer.Argument(help="template name, e.g. weekly (or --due)")] = None,
    date_: Annotated[Optional[str], typer.Option("--date", help="edition date, e.g. 2026-11-23")] = None,
    to: Annotated[Optional[str], typer.Option(
        "--to", envvar="NEWSLETTER_SEND_TO",
        help="maildir:./outbox, spool:./spool (one mbox per batch) or smtp://[user:pass@]host:port[?starttls=1&rate=700]")] = None,
    engine_name: Annotated[str, typer.Option("--engine", help="local or dramatiq")] = "local",
    workers: Annotated[int, typer.Option(help="worker processes (0: in this process); dramatiq: "
                                              "batch chains to start")] = 2,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="plan and report; write and send nothing")] = False,
    limit: Annotated[Optional[int], typer.Option(help="plan at most this many more due customers")] = None,
    test: Annotated[Optional[str], typer.Option("--test", help="a tested edition: this share first (e.g. 10%), "
                                                "with all arms; the rest gets the winners (`send --due`)")] = None,
    due: Annotated[bool, typer.Option("--due", help="send every edition whose time has come")] = False,
    force: Annotated[bool, typer.Option(help="with --due: start editions later than --max-late too; "
                                              "else: allow a date that is not an edition date")] = False,
    max_late: Annotated[float, typer.Option(envvar="NEWSLETTER_SEND_MAX_LATE",
                                            help="hours after its time an edition may still be started")] = 12.0,
    allow_insecure_links: Annotated[bool, typer.Option(
        ALLOW_OPTION, help="send to an SMTP relay although the base URL is not https:// or the unsubscribe "
                           "mailto is the demo's")] = False,
    allow_partial: Annotated[bool, typer.Option(
        "--allow-partial", help="start although `newsletter plan` has errors: the customers of the variants "
                                "that cannot be sent are skipped (exit code 4)")] = False,
    test_to: Annotated[Optional[str], typer.Option(
        "--test-to", help="a test send: the edition's real variants to these addresses (comma-separated), "
                          "\"[TEST]\" in the subject, nothing recorded; the edition is not started")] = None,
    test_customers: Annotated[Optional[str], typer.Option(
        "--test-customers", help="with --test-to: render as these customers (external ids, comma-separated)")] = None,
    test_variants: Annotated[int, typer.Option(
        "--test-variants", help="with --test-to: else one customer each of this many variants")] = 3,
    batch_size: Annotated[int, typer.Option(help="rows a worker claims at a time")] = 500,
    lease: Annotated[float, typer.Option(help="seconds before a dead worker's claim is taken over")] = 120.0,
    content_dir: Annotated[Optional[Path], typer.Option("--content", help="content folder (default: settings)")] = None,
) -> None:
    """Send an edition to every due customer, exactly once; print a progress bar and the report."""
    cfg = load_settings()
    if content_dir is not None:  # the workers get it with the settings
        cfg = dataclasses.replace(cfg, content_dir=content_dir)
    if engine_name not in ("local", "dramatiq"):
        raise typer.BadParameter("--engine must be local or dramatiq")
    if engine_name == "dramatiq":
        try:
            import dramatiq  # noqa: F401  (an optional extra)
        except ImportError as exc:
            err.print("[red]error:[/] the dramatiq engine needs the extra: pip install 'newsletter[dramatiq]'")
            raise typer.Exit(2) from exc
    if test_to is not None and (due or dry_run or limit is not None):
        raise typer.BadParameter("--test-to sends test mails of one edition: not with --due, --dry-run or --limit")
    share = None if test is None else parse_share(test)
    if share is not None and (due or dry_run or limit is not None or test_to is not None):
        raise typer.BadParameter("--test starts a tested edition: not with --due, --dry-run, --limit or --test-to")
    target = None
    if not dry_run:
        if not to:
            raise typer.BadParameter("--to is required (maildir:PATH, spool:PATH or smtp://host:port)")
        try:
            target = parse_target(to)
        except BadTarget as exc:
            raise typer.BadParameter(str(exc)) from exc
    check_links(cfg, target, allow_insecure_links)
    check_relay(target)
    try:
        content = load_content(cfg.content_dir)
    except ContentError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False)
        err.print("[red]content has errors:[/] nothing was sent")
        raise typer.Exit(1) from exc
    engine = make_engine(cfg.database_url)
    try:
        if due:
            if template or date_:
                raise typer.BadParameter("--due picks the templates and dates itself")
            editions = _due(engine, content, timedelta(hours=max_late), force)
        else:
            if not template or not date_:
                raise typer.BadParameter("give TEMPLATE and --date (or --due)")
            if template not in content.templates:
                err.print(f"[red]error:[/] unknown template {template!r} "
                          f"(templates: {', '.join(sorted(content.templates))})")
                raise typer.Exit(2)
            if content.templates[template].trigger is not None and test_to is None:
                err.print(f"[red]error:[/] {template} is sent on an event (trigger: "
                          f"{content.templates[template].trigger.event}), to each customer once: "
                          "`newsletter send --due` sends it; --test-to sends test mails of it")
                raise typer.Exit(2)
            day = edition_day_or_exit(content.templates[template], parse_day(date_), force, "sends it anyway")
            editions = [(template, day)]
            if test_to is None:
                refuse_mismatch(engine, content, template, day, share)
        if test_to is not None:
            name, day = editions[0]
            code = send_test_mails(cfg, engine, content, name, day, to or "", comma_list(test_to),
                                   comma_list(test_customers), test_variants)
            editions = []
        else:
            code = 0
        for name, day in editions:
            def allowed(name=name, day=day) -> bool:
                return plan_allows(cfg, content, name, day, allow_partial=allow_partial, dry_run=dry_run)
            spec = SendSpec(cfg, name, day, to or "", batch_size=batch_size, lease=lease, workers=max(1, workers),
                            checked_content=content.version, test_share=share)
            if share is not None or (not dry_run and is_tested(engine, name, day)):  # gated as each phase starts
                code = max(code, run_tested(engine, content, spec, lambda s: _run(
                    engine, content, s, workers, False, None, engine_name) if allowed() else PLAN_REFUSED_EXIT))
                continue
            if not allowed():
                code = max(code, PLAN_REFUSED_EXIT)
                continue
            code = max(code, _run(engine, content, spec, workers, dry_run, limit, engine_name))
        if due and not dry_run:
            code = max(code, _triggered(cfg, engine, content, to or "", workers, engine_name, batch_size, lease,
                                        allow_partial))
            send_owed_mail(cfg, engine, content)
    except SQLAlchemyError as exc:
        err.print(f"[red]error:[/] database {safe_url(cfg.database_url)}: {exc.__class__.__name__}: "
                  f"{str(exc).splitlines()[0]} (run `newsletter db upgrade` first?)")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if code:
        raise typer.Exit(code)


def _due(engine, content, max_late: timedelta, force: bool) -> list[tuple[str, date]]:
    with engine.connect() as conn:
        found = due_editions(conn, content, datetime.now(timezone.utc), max_late)
    chosen = []
    for edition in found:
        if edition.too_late and not force:
            err.print(f"{edition.template} {edition.day}: not started, due since {edition.starts_at:%Y-%m-%d %H:%M %Z}"
                      f", later than the allowed lateness; --force starts it")
            continue
        chosen.append((edition.template, edition.day))
    chosen += [found for found in tested_editions(engine) if found not in chosen]  # older tested ones too
    if not chosen:
        err.print("no newsletter edition due")
    return chosen


def _triggered(cfg: Settings, engine, content, to: str, workers: int, engine_name: str, batch_size: int,
               lease: float, allow_partial: bool) -> int:
    """Plan and send the mails sent on an event (the welcome mail and its series) whose time has
    come; the highest exit code of their runs (0 when none had anyone to send to)."""
    editions = due_triggered(content, datetime.now(timezone.utc))
    late = Counter()
    for edition in editions:
        added = plan_triggered(engine, content.templates[edition.template], edition)
        if edition.too_late and added:
            late[edition.template] += added
    for name, n in sorted(late.items()):
        err.print(f"{name}: {n:,} customer{'' if n == 1 else 's'} not sent, confirmed longer ago than its "
                  "max_late (reason too-late: did `send --due` not run?)", markup=False)
    code = 0
    for edition in unfinished(engine, editions):
        if not plan_allows(cfg, content, edition.template, edition.day, allow_partial=allow_partial):
            code = max(code, PLAN_REFUSED_EXIT)  # its rows wait, pending, for fixed content
            continue
        spec = SendSpec(cfg, edition.template, edition.day, to, batch_size=batch_size, lease=lease,
                        workers=max(1, workers), checked_content=content.version)
        code = max(code, _run(engine, content, spec, workers, False, None, engine_name, planned=True))
    return code


def _run(engine, content, spec: SendSpec, workers: int, dry_run: bool, limit: int | None,
         engine_name: str = "local", *, planned: bool = False) -> int:
    """Plan and deliver one edition; ``planned``: its rows are planned already (a mail sent on
    an event), deliver them and report the ledger's rows alone."""
    if dry_run:
        counts = plan_run(engine, content, spec, limit=limit, dry_run=True)
        with engine.connect() as conn:
            print_report(Report.from_plan(spec.template, spec.day, counts, conn), dry_run=True)
        return 0
    decide_before_send(engine, content, spec.template, spec.day, spec.settings)  # the digests' blocks, once
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(f"{spec.template} {spec.day}", total=None)

        def progress(states: dict) -> None:
            done = states[ledger.SENT] + states[ledger.FAILED]
            bar.update(task, completed=done, total=done + states[ledger.PENDING] + states[ledger.CLAIMED])

        def plan(tick) -> PlanCounts:
            if planned:
                return PlanCounts(complete=True)
            return plan_run(engine, content, spec, limit=limit, on_batch=lambda _counts: tick())

        def waiting(status: Waiting | None) -> None:  # what the send waits for, on the bar's line
            bar.update(task, description=progress_description(spec, status))

        try:
            if engine_name == "dramatiq":
                from service.sending.dramatiq_engine import run_dramatiq

                result = run_dramatiq(engine, spec, plan, chains=max(1, workers), progress=progress,
                                      waiting=waiting)
            elif workers <= 0:
                result = run_inline(engine, spec, plan, progress)
            else:
                result = run_local(engine, spec, plan, workers=workers, progress=progress, waiting=waiting)
        except WorkerError as exc:
            err.print(f"[red]error:[/] {exc}; run the same command again to continue")
            return INCOMPLETE_EXIT
    with engine.connect() as conn:
        report = Report.from_ledger(conn, spec.template, spec.day, whole_audience=not planned)
    print_report(report)
    refresh_after_send(engine, spec.settings)
    if result.relay_down:
        err.print("[red]the relay stayed unreachable:[/] the rest is pending; run the same command again")
    elif not result.complete and engine_name == "dramatiq" and limit is None:
        err.print("[red]no progress:[/] are the dramatiq workers running (dramatiq service.sending.dramatiq_engine)?")
    if limit is not None:
        print_test_run_note(limit, result.complete)
    if not result.complete and limit is None and not only_held(result.counts):
        return INCOMPLETE_EXIT
    return partial_exit(report)


def report(template: Annotated[str, typer.Argument(help="template name, e.g. weekly")],
           date_: Annotated[str, typer.Option("--date", help="edition date")]) -> None:
    """Print the report of an edition's send again, from the ledger."""
    cfg, day = load_settings(), parse_day(date_)
    try:  # a mail sent on an event (the welcome) is reported for its own customers, not the audience
        known = load_content(cfg.content_dir).templates.get(template)
    except ContentError:
        known = None
    on_event = known is not None and known.trigger is not None
    with database_or_exit(cfg.database_url, "cannot read the ledger in") as engine, engine.connect() as conn:
        found = Report.from_ledger(conn, template, day, whole_audience=not on_event)
    if not found.planned:
        err.print(f"no send of {template} {date_} in the ledger")
        raise typer.Exit(1)
    print_report(found)


def register(app: typer.Typer) -> None:
    """Add `send` and `report` to the `newsletter` command."""
    app.command("send")(send)
    app.command("report")(report)

