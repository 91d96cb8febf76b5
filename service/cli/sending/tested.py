"""`newsletter send --test 10%` and what `send --due` does with a tested edition: the test
sample with all arms first, the rest once the experiments are decided, only the winners.

``run_tested`` takes an edition as far as it goes now (service/experiments/conclusion.py): it
sends the sample (or the rest of it, after a crash), then decides and releases the held customers
when ``decide_after`` is over (or every experiment was decided by hand), and sends them the
winners. Each call continues where the last stopped; the CLI's own checks refuse the clear
mistakes: a share that is not a percentage, a tested edition sent without --test (or the other
way round), another share than the one the test started with, a template with no decide_after.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone
from typing import Callable

import typer
from rich.markup import escape

from service.cli.console import err
from service.content.model import Content
from service.experiments.conclusion import RELEASED, TESTING, WAITING, conclude
from service.sending import ledger, phases
from service.sending.spec import SendSpec

SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")


def parse_share(text: str) -> int:
    """``10%`` (or ``10``, ``2.5%``) as basis points; a BadParameter unless 0 < share < 100."""
    match = SHARE.match(text)
    share = round(float(match.group(1)) * 100) if match else 0
    if not 0 < share < 10_000:
        raise typer.BadParameter(f"--test {text!r}: the test sample's share of the edition, more than 0% "
                                 "and less than 100%, e.g. --test 10%")
    return share


def refuse_mismatch(engine, content: Content, template: str, day, share: int | None) -> None:
    """Exit 2 for an explicit send that does not fit the edition's test (or its absence)."""
    with engine.connect() as conn:
        run = ledger.get_run(conn, ledger.EditionKey(template, day))
    tested = run is not None and run.test_share is not None
    if share is not None and content.templates[template].decide_after is None:
        _refuse(f"{template} has no decide_after in its template.yaml: write how long the test's clicks are "
                "counted before the winner goes out, e.g. decide_after: 4h")
    if share is not None and not content.experiments:
        _refuse("the content has no experiment (an arm of a block): there is nothing to test")
    if share is not None and run is not None and not tested:
        _refuse(f"{template} {day} was started without --test: it is sent to everyone with their arms")
    if share is not None and tested and run.test_share != share:
        _refuse(f"{template} {day} is tested with --test {run.test_share / 100:g}%: the same share continues it")
    if share is None and tested:
        _refuse(f"{template} {day} is tested (--test {run.test_share / 100:g}%): `newsletter send --due` sends "
                "the rest the winners once decided (`newsletter experiments`); the same --test continues it")


def tested_editions(engine) -> list[tuple[str, object]]:
    """Tested editions not complete, oldest first: `send --due` takes each one further."""
    with engine.connect() as conn:
        return [(run.template, run.edition_date) for run in phases.tested_runs(conn)]


def is_tested(engine, template: str, day) -> bool:
    with engine.connect() as conn:
        run = ledger.get_run(conn, ledger.EditionKey(template, day))
    return run is not None and run.test_share is not None


def only_held(counts: dict) -> bool:
    """A tested edition's test phase went through: only the rows held for the decision are left."""
    return bool(counts.get(ledger.HELD)) and counts[ledger.PENDING] + counts[ledger.CLAIMED] == 0


def run_tested(engine, content: Content, spec: SendSpec, send: Callable[[SendSpec], int]) -> int:
    """Send the tested edition as far as it goes now; ``send(spec)`` runs one phase (the exit code)."""
    key = spec.edition
    code = 0
    now = lambda: datetime.now(timezone.utc)  # noqa: E731
    conclusion = conclude(engine, content, key, now())
    if conclusion.state in (TESTING, "not tested"):
        if spec.test_share is None:
            with engine.connect() as conn:
                spec = dataclasses.replace(spec, test_share=ledger.get_run(conn, key).test_share)
        code = send(spec)
        conclusion = conclude(engine, content, key, now())
    if conclusion.state == WAITING:
        with engine.connect() as conn:
            held = phases.held_count(conn, key)
        when = f"at {conclusion.decide_at:%Y-%m-%d %H:%M} UTC" if conclusion.decide_at else "by hand only"
        err.print(f"{key.template} {key.day}: test sample sent; {held:,} customers wait for the decision of "
                  f"{', '.join(conclusion.undecided)} ({when}: `newsletter send --due`; "
                  "`newsletter experiments` shows the figures)", markup=False)
        return code
    if conclusion.state == TESTING:
        err.print(f"{key.template} {key.day}: the test sample is not through yet: run the same command again",
                  markup=False)
        return max(code, 3)
    for decision in conclusion.decided:
        p = "" if decision.p_value is None else f", p = {decision.p_value:.4f}"
        err.print(f"{key.template} {key.day}: experiment {decision.experiment} decided: arm {decision.arm}"
                  f"{p} ({decision.method})", markup=False)
    if conclusion.state == RELEASED:
        if conclusion.released:
            err.print(f"{key.template} {key.day}: sending the winners to {conclusion.released:,} customers",
                      markup=False)
        code = max(code, send(dataclasses.replace(spec, test_share=None)))
    return code


def _refuse(message: str) -> None:
    err.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(2)
