"""The best-of editions (template.yaml's ``digest:``) at the command line: in ``newsletter plan``
and ``newsletter preview`` which digests are due on the date, the ranking they are assembled by
(the one a send decided, else measured now from the results) and, per slot, the rate and
recipients that chose each block; for ``newsletter send``, deciding the ranking before its
workers start."""

from __future__ import annotations

from datetime import date, timedelta

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from preferences.database import make_engine
from service.assembly.coverage import Coverage
from service.assembly.digest import Ranking, due_digests
from service.assembly.edition import Assembly, SlotFill
from service.cli.console import customer_row_or_exit, err, out, safe_url
from service.content.model import Content, Digest, Template
from service.results.best_of import decide_for_send, rankings_for
from service.results.refresh import refresh
from service.results.retention import oldest_kept
from service.sending.digests import decided
from service.settings import Settings


def rankings_or_none(cfg: Settings, content: Content, template: Template, day: date) -> dict[str, Ranking]:
    """The digests' rankings of an edition, read from the database; none (the normal rules, with
    a note) when the database cannot be read."""
    if not template.digests:
        return {}
    engine = make_engine(cfg.database_url)
    try:
        with engine.connect() as conn:
            return rankings_for(conn, content, template.id, day)
    except SQLAlchemyError as exc:
        err.print(f"note: no results to rank the digests by ({safe_url(cfg.database_url)}: "
                  f"{exc.__class__.__name__}): shown by the normal rules", markup=False)
        return {}
    finally:
        engine.dispose()


def print_plan(result: Coverage, template: Template, rankings: dict[str, Ranking]) -> None:
    """One table per digest due on the edition's date; a line for each that is not."""
    for digest in template.digests:
        rows = result.digests.get(digest.name)
        if rows is None:
            out.print(f"{digest.name} for {_readers(digest)}: not on {result.edition_date} "
                      f"(next: {next_digest(template, digest, result.edition_date)})", markup=False)
            continue
        ranking = rankings.get(digest.name)
        table = Table(title=f"{template.label}: {digest.name} for {_readers(digest)}, edition of "
                            f"{result.edition_date}", caption=ranking.window_text() if ranking else
                      "no ranking: every block is thin, the normal rules fill the slots", show_lines=True)
        table.add_column("segment / locale")
        for slot in template.slots:
            table.add_column(slot.name + (" *" if slot.required else ""))
        for row in rows:
            assembly = row.assembly
            label = f"{assembly.key.segment} / {assembly.key.locale}" + (" NOT SENT" if assembly.skip_reason else "")
            table.add_row(label, *(fill_cell(assembly, fill) for fill in assembly.fills))
        out.print(table)
    if result.digests:
        out.print(f"digests: min_recipients {', '.join(f'{d.name} {d.min_recipients}' for d in template.digests)};"
                  " #n: its place by click rate (clickers of measured recipients), top-up: thin, by the normal rules",
                  markup=False)


def fill_cell(assembly: Assembly, fill: SlotFill) -> str:
    places = {r.block: r for r in fill.ranking}
    lines = []
    for block in fill.chosen:
        name = block.story.split("/", 1)[1] + ("" if block.locale == assembly.key.locale else f" ({block.locale})")
        place = places.get(block.id)
        if place is None:
            lines.append(f"{name} (fallback)" if fill.used_fallback else name)
        elif place.place is None:
            found = place.measured
            lines.append(f"{name}\n  top-up" + (f", {found.recipients} recipients" if found else ""))
        else:
            found = place.measured
            lines.append(f"{name}\n  #{place.place} {float(found.rate):.1%} ({found.clickers}/{found.recipients})")
    return "\n".join(lines) or ("EMPTY (required)" if fill.slot.required else "-")


def next_digest(template: Template, digest: Digest, day: date) -> date:
    for edition in template.schedule.editions(day + timedelta(days=1), day + timedelta(days=62)):
        if digest in due_digests(template, edition):
            return edition
    return day


def _readers(digest: Digest) -> str:
    return " and ".join(f"{pace} readers" for pace in digest.paces)


def preview_digest(cfg: Settings, content: Content, template: Template, day: date, pace: str | None,
                   customer: str | None) -> tuple[Digest | None, dict[str, Ranking]]:
    """The digest a preview shows (``--pace``, or the ``--customer``'s frequency) and the
    rankings to assemble it by; exit 2 for a pace the template has no digest for."""
    if pace is None and customer is not None:
        pace = str(customer_row_or_exit(cfg, customer).frequency)
        if template.digest_for(pace) is None:
            return None, {}
    if pace is None:
        return None, {}
    digest = template.digest_for(pace)
    if digest is None:
        err.print(f"[red]error:[/] {template.id} has no digest for {pace!r} readers "
                  f"(digests: {', '.join(p for d in template.digests for p in d.paces) or 'none'})")
        raise typer.Exit(2)
    if digest not in due_digests(template, day):
        err.print(f"note: {pace} readers get no digest on {day} (next: {next_digest(template, digest, day)}): "
                  "the week's edition is shown", markup=False)
        return None, {}
    return digest, rankings_or_none(cfg, content, template, day)


def ranking_lines(assembly: Assembly, rankings: dict[str, Ranking]) -> list[str]:
    """What the preview prints above the trace of a digest variant."""
    if assembly.digest is None:
        return []
    found = rankings.get(assembly.digest.name)
    return [f"digest {found.window_text() if found else assembly.digest.name + ': no ranking (normal rules)'}; "
            f"min_recipients {assembly.digest.min_recipients}"]


def decide_before_send(engine, content: Content, template: str, day: date, cfg: Settings) -> None:
    """A send's first step for a template with digests: the rollups brought up to date (clicks
    since the last refresh count), then each digest's ranking decided and kept, unless an earlier
    run of the edition decided it (a resumed run keeps the first decision)."""
    digests = content.templates[template].digests
    if not digests:
        return
    if any(d.name not in decided(engine, template, day) for d in digests):
        refresh(engine, oldest=oldest_kept(date.today(), cfg.results_retention_days))
    for ranking in decide_for_send(engine, content, template, day).values():
        err.print(f"{template} {day}: {ranking.window_text()}", markup=False)
