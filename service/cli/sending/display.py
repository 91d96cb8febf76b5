"""What `newsletter send` and `newsletter report` print: the progress line (with what the send
waits for) and the report, adding up to the audience."""

from __future__ import annotations

from rich.markup import escape
from rich.progress import ProgressColumn
from rich.table import Table
from rich.text import Text

from service.cli.console import err, out
from service.sending import ledger
from service.sending.report import Report
from service.sending.spec import SendSpec
from service.sending.waiting import Waiting


def print_report(report: Report, dry_run: bool = False) -> None:
    s = report.states
    status = "dry run" if dry_run else ("complete" if report.complete else "not complete")
    out.print(f"{report.template} {report.day}: {status}")
    unfinished = s[ledger.PENDING] + s[ledger.CLAIMED]
    line = f"customers {report.total}  due {report.due}"
    if not dry_run:
        line += f"  sent {s[ledger.SENT]}  failed {s[ledger.FAILED]}  unfinished {unfinished}"
        if s[ledger.HELD]:  # a tested edition's customers outside the sample
            line += f"  held for the decision {s[ledger.HELD]}"
    out.print(line)
    _print_unplanned(report)
    for title, reasons in (("skipped", report.skipped), ("failed", report.failed)):
        if reasons:
            out.print(f"{title} {sum(reasons.values())}: "
                      + ", ".join(f"{reason} {n}" for reason, n in reasons.most_common()), markup=False)
    for title, rows in (("segment", report.segments), ("variant", report.variants)):
        if not rows:
            continue
        columns = ("due", "sent", "skipped", "failed") if not dry_run else ("due", "skipped")
        if title == "variant":  # a variant is only known for customers who were due
            columns = tuple(c for c in columns if c != "skipped")
        table = Table(title=f"per {title}", title_justify="left")
        table.add_column(title)
        for column in columns:
            table.add_column(column, justify="right")
        for name, counts in sorted(rows.items()):
            due = sum(counts.values()) - counts[ledger.SKIPPED]
            values = {"due": due, "sent": counts[ledger.SENT], "skipped": counts[ledger.SKIPPED],
                      "failed": counts[ledger.FAILED]}
            table.add_row(escape(name), *(str(values[c]) for c in columns))  # a label's "[arm=b]" is text
        out.print(table)


def print_test_run_note(limit: int, complete: bool) -> None:
    """A --limit run is a test run: it does not start the edition for `send --due`."""
    rest = "" if complete else "; the same command without --limit sends the rest"
    err.print(f"test run (--limit {limit}): its customers got the edition and will not get it twice, but "
              f"`send --due` does not count the edition as started{rest}")


def _print_unplanned(report: Report) -> None:
    """The customers the run has no row for, so that the report adds up to the audience (the
    unsubscribed and pending ones are among the skipped, with that reason)."""
    if report.not_planned:
        out.print(f"not planned {report.not_planned}: active customers added after the run or past its "
                  "--limit (the same command without --limit sends them)", markup=False)
    if report.already_planned:
        out.print(f"already planned {report.already_planned}: by an earlier run of this edition", markup=False)


class RateColumn(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} recipients/s" if speed else "- recipients/s")


def progress_description(spec: SendSpec, status: Waiting | None) -> str:
    """The progress line's label: the edition, and what the send waits for if it waits."""
    label = f"{spec.template} {spec.day}"
    return label if status is None else f"{label} [yellow]{escape(waiting_text(status))}[/]"


def waiting_text(status: Waiting) -> str:
    """A wait in words, its end in this machine's local time."""
    if status.until is None:
        return status.reason
    return f"{status.reason} {status.until.astimezone():%H:%M:%S}"
