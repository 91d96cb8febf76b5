"""The `newsletter` command: the only place that turns domain errors into messages and exit codes."""

from __future__ import annotations

import sys
from datetime import date
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table


from service.assembly.coverage import edition_coverage
from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.cli.sending import command as send_commands
from service.cli import digest as digests, experiments
from service.cli.experiment_commands import experiments_app
from service.content.model import ORIGINAL
from service.cli.console import (customer_row_or_exit, edition_day_or_exit, err, load_or_exit, load_settings,
                                 migrated_engine, out, parse_day, renderer_for, safe_url)
from service.cli.archive import archive_app, sent_html
from service.cli.bounces import bounces_app
from service.cli.customers import customers_app
from service.cli.results import results_app
from service.cli.staff import staff_app
from service.cli.suppressions import suppressions_app
from service.cli.unsubscribes import unsubscribes_app
from service.content.check import check_content
from service.content.teams import codeowners
from service.settings import Settings

app = typer.Typer(help="Newsletter content assembly, preference centre and scheduled send.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

# Where `preview` writes without --out: under var/ (git-ignored, beside the SQLite file), never
# into the working folder.
PREVIEW_DIR = Path("var/previews")

ContentOption = Annotated[Optional[Path], typer.Option("--content", help="content folder (default: settings)")]


def _print_version(value: bool) -> None:
    if value:
        out.print(f"newsletter {package_version('newsletter')}", markup=False)
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                   help="print the installed version and exit")] = False) -> None:
    """Newsletter content assembly, preference centre and scheduled send."""


def content_dir(option: Path | None) -> Path:
    return option if option is not None else load_settings().content_dir


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
    found = result.content.experiments if result.content else {}
    arm_files = sum(len(a.blocks) for e in found.values() for a in e.arms if a.name != ORIGINAL)
    blocks = (len(result.content.blocks) if result.content else 0) - arm_files
    tests = f", {len(found)} experiment(s) ({arm_files} arm files)" if found else ""
    err.print(f"[green]content OK:[/] {blocks} blocks{tests}, {summary}")


@app.command()
def owners(content: ContentOption = None) -> None:
    """Print a CODEOWNERS file that gives each team's block folder to its reviewers."""
    folder = content_dir(content)
    loaded = load_or_exit(folder)
    out.print(codeowners(loaded, Path(folder).as_posix().strip("/") or "content"), end="", markup=False)


@app.command()
def plan(template: Annotated[str, typer.Argument(help="template name, e.g. weekly")],
         date_: Annotated[Optional[str], typer.Option("--date", help="edition date (default: next edition)")] = None,
         drafts: Annotated[bool, typer.Option(help="include draft blocks, as the preview does")] = False,
         content: ContentOption = None) -> None:
    """Print the coverage matrix segment x slot for an edition; exit 1 if any segment can't be sent."""
    cfg = load_settings()
    loaded = load_or_exit(content_dir(content) if content else cfg.content_dir)
    chosen = _template(loaded, template)
    day = parse_day(date_) if date_ else chosen.schedule.next_edition(date.today())
    rankings = digests.rankings_or_none(cfg, loaded, chosen, day)  # the best-of editions' (digest:)
    result = edition_coverage(loaded, template, day, renderer_for(cfg), drafts=drafts, rankings=rankings)
    table = Table(title=f"{chosen.label}: edition of {day}", show_lines=True)
    table.add_column("segment / locale")
    for slot in chosen.slots:
        table.add_column(slot.name + (" *" if slot.required else ""))
    table.add_column("HTML KB", justify="right")
    for row in result.rows:
        assembly = row.assembly
        cells = []
        for fill in assembly.fills:
            names = [b.story.split("/", 1)[1] + ("" if b.locale == assembly.key.locale else f" ({b.locale})")
                     for b in fill.chosen]
            cell = "\n".join(names) + (" (fallback)" if fill.used_fallback else "")
            if not fill.chosen:
                cell = "[red]EMPTY (required)[/]" if fill.slot.required else "[dim]-[/]"
            cells.append(cell)
        size = f"{row.html_bytes / 1024:.0f}" if row.html_bytes else "-"
        label = f"{assembly.key.segment} / {assembly.key.locale}"
        if assembly.skip_reason:
            label = f"[red]{label}\nNOT SENT[/]"
        table.add_row(label, *cells, size)
    out.print(table)
    with_exclusions = sum(2 ** n for n in result.exclusion_groups.values())
    out.print(f"{len(result.rows)} variants by segment and locale; up to {with_exclusions} with "
              f"product-group exclusions; {result.variants_checked} rendered and size-checked.")
    stories = {b.story for row in result.rows for b in row.assembly.blocks}
    for experiment in (e for e in loaded.experiments.values() if e.id in stories):
        out.print(f"experiment {experiment.id}: {experiment.split_text()} (each arm rendered and size-checked)")
    digests.print_plan(result, chosen, rankings)
    for problem in result.errors:
        err.print(f"[red]error:[/] {problem}", markup=True)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def preview(template: Annotated[str, typer.Argument(help="template name, e.g. weekly")],
            date_: Annotated[str, typer.Option("--date", help="edition date")],
            segment: Annotated[Optional[str], typer.Option(help="segment id")] = None,
            customer: Annotated[Optional[str], typer.Option(
                help="a customer's external id (CRM id): the email exactly as the send renders it")] = None,
            locale: Annotated[Optional[str], typer.Option(help="locale (default: the default locale)")] = None,
            exclude: Annotated[str, typer.Option(help="excluded product groups, comma-separated")] = "",
            drafts: Annotated[bool, typer.Option(help="include draft blocks")] = False,
            name: Annotated[str, typer.Option(help="sample first name")] = "Alex",
            out_file: Annotated[Optional[Path], typer.Option(
                "--out", help="write the HTML here (default: var/previews/)")] = None,
            force: Annotated[bool, typer.Option(help="allow a date that is not an edition date")] = False,
            arm: Annotated[Optional[list[str]], typer.Option(
                help="show this arm of an experiment: EXPERIMENT=ARM (repeatable; default: arm a)")] = None,
            pace: Annotated[Optional[str], typer.Option(
                help="as readers of this pace get it (monthly, biweekly): the template's digest")] = None,
            content: ContentOption = None) -> None:
    """Write the HTML of one variant and print its assembly trace (and which arm of each experiment)."""
    cfg = load_settings()
    loaded = load_or_exit(content_dir(content) if content else cfg.content_dir)
    chosen = _template(loaded, template)
    day = edition_day_or_exit(chosen, parse_day(date_), force, "previews it anyway")
    if (segment is None) == (customer is None):
        raise typer.BadParameter("give either --segment or --customer")
    found = loaded.audience.segment(segment) if segment else None
    if segment and found is None:
        err.print(f"[red]error:[/] unknown segment {segment!r} "
                  f"(segments: {', '.join(s.id for s in loaded.audience.segments)})")
        raise typer.Exit(2)
    digest, rankings = digests.preview_digest(cfg, loaded, chosen, day, pace, customer)
    edition = Edition(loaded, chosen, day, drafts=drafts, experiment_key=cfg.experiment_key, rankings=rankings)
    if customer is not None:
        recipient = _customer(cfg, customer)
        sent = sent_html(cfg, template, day, recipient)  # an edition they were sent: what was sent
        if sent is not None:
            _write_preview(out_file or PREVIEW_DIR / f"preview-{template}-{day}-{customer}-sent.html", sent,
                           out_file is None)
            return
        assembly = edition.assembly_for(recipient, digest)
        if assembly is None:
            err.print(f"[red]error:[/] customer {customer} matches no segment: not sent")
            raise typer.Exit(1)
    else:
        excluded = [g.strip() for g in exclude.split(",") if g.strip()]
        unknown = [g for g in excluded if g not in loaded.product_groups]
        if unknown:
            err.print(f"[red]error:[/] unknown product group(s) {', '.join(unknown)}")
            raise typer.Exit(2)
        recipient = Recipient(public_id="PreviewPreviewPreview0", email="preview@example.com",
                              first_name=name, locale=locale or loaded.audience.default_locale)
        named = experiments.parse_arms(arm)
        if experiments.unknown_experiments(edition, named):
            err.print(f"[red]error:[/] --arm: no experiment {', '.join(experiments.unknown_experiments(edition, named))}"
                      f" (experiments: {', '.join(loaded.experiments) or 'none'})")
            raise typer.Exit(2)
        try:
            assembly = edition.assemble(found, recipient.locale, excluded, arms=named, digest=digest)
        except ValueError as exc:
            err.print(f"[red]error:[/] --arm: {exc}")
            raise typer.Exit(2) from exc
    for line in digests.ranking_lines(assembly, rankings) + assembly.trace() + experiments.why_lines(edition, assembly, customer and recipient.public_id):
        out.print(line, markup=False)
    if assembly.skip_reason:
        raise typer.Exit(1)
    renderer = renderer_for(cfg)
    variant = renderer.for_recipient(edition, assembly, recipient)  # --customer: as the send renders it
    html = renderer.html(edition, variant, recipient)
    who = customer or assembly.segment.id + (f"-{pace}" if digest else "")
    _write_preview(out_file or PREVIEW_DIR / f"preview-{template}-{day}-{who}-{assembly.key.locale}.html", html,
                   out_file is None)


def _write_preview(target: Path, html: str, make_folder: bool) -> None:
    if make_folder:
        target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8", newline="")
    err.print(f"wrote {target} ({len(html.encode()) // 1024} KB)")


@app.command()
def serve(host: Annotated[str, typer.Option(help="address to bind (staff preview: keep it local)")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port")] = 8000) -> None:
    """Serve the preview pages, the preference centre and the web versions with uvicorn."""
    import uvicorn

    from service.web.app import create_app, ready_to_serve
    from service.web.staff import PASSWORD_SETTING, is_loopback

    cfg = load_settings()
    if not is_loopback(host):
        if cfg.is_dev_secret:
            err.print("[red]error:[/] refusing to serve on a public address with the development link key; "
                      "set NEWSLETTER_LINK_KEYS")
            raise typer.Exit(2)
        if cfg.preview_password is None:
            err.print(f"[red]error:[/] refusing to serve the staff pages on a public address without a "
                      f"staff credential; set {PASSWORD_SETTING}")
            raise typer.Exit(2)
    elif cfg.preview_password is None:
        err.print(f"note: the staff pages are open to this machine only ({PASSWORD_SETTING} is not set)")
    err.print(f"serving on http://{host}:{port}/preview  (Ctrl+C to stop)")
    uvicorn.run(ready_to_serve(create_app(cfg)), host=host, port=port, log_level="warning")


send_commands.register(app)  # newsletter send, newsletter report

db_app = typer.Typer(help="The database: schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(customers_app, name="customers")
app.add_typer(results_app, name="results")
app.add_typer(unsubscribes_app, name="unsubscribes")
app.add_typer(staff_app, name="staff")
app.add_typer(bounces_app, name="bounces")
app.add_typer(suppressions_app, name="suppressions")
app.add_typer(archive_app, name="archive")
app.add_typer(experiments_app, name="experiments")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations to DATABASE_URL (creates the SQLite file if needed)."""
    cfg = load_settings()
    migrated_engine(cfg).dispose()
    err.print(f"database {safe_url(cfg.database_url)} is up to date")


def _customer(cfg: Settings, external_id: str) -> Recipient:
    """One customer as the send sees them (the same row shape, so the same email)."""
    row = customer_row_or_exit(cfg, external_id)
    if row.status != "active":
        err.print(f"note: customer {external_id} is {row.status} and would not be sent this edition")
    return Recipient.from_row(row)


def _template(loaded, name: str):
    found = loaded.templates.get(name)
    if found is None:
        err.print(f"[red]error:[/] unknown template {name!r} (templates: {', '.join(sorted(loaded.templates))})")
        raise typer.Exit(2)
    return found


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # python -m service.cli.main, as the console script
    main()
