"""What `newsletter send` checks before an edition starts, and judges once it ran (issue 10.17).

- the plan gate: an edition whose ``newsletter plan`` has errors (a required slot empty for a
  segment, a variant that does not render or goes over Gmail's clipping size) is not started,
  unless ``--allow-partial``; the problems are listed either way;
- the relay gate: an SMTP relay that cannot be used at all (refused, no such host, TLS, AUTH)
  ends the send at once with the reason, before any customer is claimed (issue 10.14);
- the partial outcome: customers not sent for content reasons (no segment, a variant that cannot
  be sent or rendered), rather than for their own choices (preferences.due) or a relay's answer,
  make the exit code ``PARTIAL_EXIT`` even with ``--allow-partial``.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import typer
from rich.markup import escape

from preferences.due import SKIP_REASONS

from service.assembly.coverage import edition_coverage
from service.cli.console import err, renderer_for
from service.cli.digest import rankings_or_none
from service.content.model import Content
from service.delivery.smtp import RelayUnreachable
from service.sending.batch import CUSTOMER_GONE, SUPPRESSED, VARIANT_FAILED
from service.sending.report import Report
from service.sending.due import TOO_LATE
from service.settings import Settings

PLAN_REFUSED_EXIT = 1  # the edition was not started: its plan has errors (as for content errors)
PARTIAL_EXIT = 4  # the run went through, but customers were not sent for content reasons
RELAY_UNREACHABLE_EXIT = 3  # as any run that could not finish: run it again once the relay answers


def plan_problems(cfg: Settings, content: Content, template: str, day: date) -> list[str]:
    """The errors ``newsletter plan`` reports for the edition, but for its date (the caller has
    judged the date already: refused, or allowed with --force)."""
    refused_day = content.templates[template].schedule.not_an_edition(day, template)
    rankings = rankings_or_none(cfg, content, content.templates[template], day)  # its digests', as the send's
    found = edition_coverage(content, template, day, renderer_for(cfg), rankings=rankings)
    return [problem for problem in found.errors if problem != refused_day]


def plan_allows(cfg: Settings, content: Content, template: str, day: date, *, allow_partial: bool,
                dry_run: bool = False) -> bool:
    """Whether the edition may start: its plan has no errors, or ``--allow-partial`` accepts
    them (a dry run only says what a send would do). The problems are printed either way."""
    problems = plan_problems(cfg, content, template, day)
    if not problems:
        return True
    for problem in problems:
        err.print(f"{template} {day}: plan error: {problem}", markup=False)
    if allow_partial:
        err.print(f"{template} {day}: [yellow]--allow-partial:[/] the customers of these variants are skipped")
        return True
    verdict = "a send would not start" if dry_run else "not started"
    err.print(f"[red]{template} {day}: {verdict}:[/] `newsletter plan {template} --date {day}` has "
              f"{len(problems)} error(s); fix the content, or --allow-partial sends the rest")
    return dry_run


# Skips that are about the customer or the timing, not the content: a deleted customer, a
# suppressed address, a welcome mail handed over past its lateness.
NOT_CONTENT = frozenset({CUSTOMER_GONE, SUPPRESSED, TOO_LATE})


def content_misses(report: Report) -> Counter:
    """Customers not sent for a content reason, by reason (not: unsubscribed, paused, refused by
    the relay, ...)."""
    found = Counter({reason: n for reason, n in report.skipped.items()
                     if reason not in SKIP_REASONS and reason not in NOT_CONTENT})
    if report.failed[VARIANT_FAILED]:
        found[VARIANT_FAILED] = report.failed[VARIANT_FAILED]
    return found


def partial_exit(report: Report) -> int:
    """PARTIAL_EXIT, with the reasons printed, when content kept customers from the edition; else 0."""
    missed = content_misses(report)
    if not missed:
        return 0
    err.print(f"[red]partial:[/] {sum(missed.values())} customer(s) not sent for content reasons: "
              + escape(", ".join(f"{reason} {n}" for reason, n in missed.most_common())))
    return PARTIAL_EXIT


def check_relay(target) -> None:
    """A relay that cannot be reached at all fails the send at once, with the reason, before any
    customer is claimed (exit 3: nothing was sent; run it again once the relay answers)."""
    check = getattr(target, "check", None)  # targets that can be asked beforehand (SMTP)
    if check is None:
        return
    err.print(f"checking the relay {escape(str(target))} ...")
    try:
        check()
    except RelayUnreachable as exc:
        err.print(f"[red]error:[/] cannot use the relay {escape(exc.target)}: {escape(exc.reason)}; nothing was sent")
        raise typer.Exit(RELAY_UNREACHABLE_EXIT) from exc
