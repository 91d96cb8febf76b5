"""Sent is sent: the archive of each edition's bodies and the ledger's pointer to them, on SQLite
and PostgreSQL. A real send into a Maildir; then blocks and customers change, and the web version
and `preview --customer` still give the mail that went out, byte for byte."""

from __future__ import annotations

import re
import shutil
import warnings
from datetime import date, timedelta
from email import message_from_bytes, policy
from html import escape, unescape
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, update
from sqlmodel import SQLModel
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

from preferences.database import for_writes
from preferences.links import LinkSigner
from preferences.models import customer_table, preference_table
from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.assembly.sent import SentBody
from service.cli.main import app
from service.content.check import load_content
from service.content.live import LiveContent
from service.sending import archive, ledger
from service.sending.batch import BatchSender, current_send_rows
from service.sending.plan import plan_run
from service.sending.spec import SendSpec
from service.sending.tables import delivery
from service.settings import Settings
from service.web import web_version
from send_fixtures import (CONTENT, EDITION, add_customers, attributes_for, db_url, engine,  # noqa: F401
                           migrated_postgres_url)

NEXT = EDITION + timedelta(days=7)


@pytest.fixture
def content_dir(tmp_path) -> Path:
    """A copy of the demo content that the test may edit after the send."""
    return Path(shutil.copytree(CONTENT, tmp_path / "content"))


def settings(url: str, content_dir: Path) -> Settings:
    return Settings(database_url=url, content_dir=content_dir, base_url="https://news.example")


def renderer_of(cfg: Settings) -> Renderer:
    return Renderer(LinkSigner(cfg.link_keys), cfg.base_url, cfg.unsubscribe_mailto)


def send(engine, cfg: Settings, outbox: Path, day: date = EDITION, *, deliverer=None, name="w1", **options):
    spec = SendSpec(cfg, "weekly", day, f"maildir:{outbox}", **options)
    content = load_content(cfg.content_dir)
    plan_run(engine, content, spec)
    sender = BatchSender(spec, name, engine=engine, content=content, deliverer=deliverer)
    try:
        assert sender.run_until_done() == 0
    finally:
        sender.close()


def html_parts(outbox: Path) -> dict[str, bytes]:
    """Per recipient address, the decoded HTML part of their mail in the Maildir (its bytes; the
    files read as they are: the mailbox module would turn their CRLF line ends into LF)."""
    found = {}
    for path in (outbox / "new").iterdir():
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        found[parsed["To"].addresses[0].addr_spec] = parsed.get_body(("html",)).get_payload(decode=True)
    return found


def view_client(engine, cfg: Settings) -> TestClient:
    renderer = renderer_of(cfg)
    routes = web_version.routes(LiveContent(cfg.content_dir, interval=0), engine, renderer.signer, renderer,
                                 cfg.experiment_key)
    return TestClient(Starlette(routes=routes))


def view_path(html: bytes) -> str:
    link = re.search(r'href="https://news\.example(/view/[^"]+)"', html.decode("utf-8")).group(1)
    return unescape(link)


def rows(engine, day: date = EDITION) -> dict:
    with engine.connect() as conn:
        return {r.customer_id: r for r in ledger.deliveries_of(conn, ledger.EditionKey("weekly", day))}


def edit_block(content_dir: Path, block_id: str) -> None:
    """An editor changes the block's text after the send."""
    path = content_dir / "blocks" / f"{block_id}.mjml"
    text = path.read_text(encoding="utf-8")
    assert "</mj-text>" in text
    path.write_text(text.replace("</mj-text>", " Changed after the send.</mj-text>", 1), encoding="utf-8")


def blocks_of(engine, label: str) -> list[str]:
    from service.sending.contents import variant_block

    with engine.connect() as conn:
        return list(conn.execute(select(variant_block.c.owner).where(
            variant_block.c.edition_date == EDITION, variant_block.c.variant == label,
            variant_block.c.owner != "layout").order_by(variant_block.c.position)).scalars())


def masked(html: bytes, email: str) -> bytes:
    """The outbox's HTML with the address masked as a forwarded web version shows it (ASCII, as
    all of a mail's HTML: its other characters as references)."""
    assert html.count(escape(email).encode()) == 1  # the demo layout prints it once, in the footer
    return html.replace(escape(email).encode(), web_version.masked_address(email).encode("ascii", "xmlcharrefreplace"))


def test_the_migration_matches_the_tables(engine):
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    ours = [d for d in diffs if any(f"'{t}'" in repr(d) for t in ("archive_body", "archive_edition", "delivery"))]
    assert ours == []


def test_the_web_version_of_a_sent_mail_stays_what_was_sent(engine, db_url, content_dir, tmp_path):
    """The proof: send, edit one of its blocks, change the customer's exclusions (and their click
    measuring), and the web version is the HTML part in the outbox, byte for byte."""
    ids = add_customers(engine, 8)
    cfg = settings(db_url, content_dir)
    box = tmp_path / "outbox"
    send(engine, cfg, box)
    sent = html_parts(box)
    customer = ids[1]
    email = f"kunde.{customer}@example.com"
    label = rows(engine)[customer].variant
    blocks = blocks_of(engine, label)
    edit_block(content_dir, blocks[0])
    content = load_content(content_dir)
    groups = sorted({g for b in blocks for g in content.blocks[b].product_groups})
    assert groups, f"variant {label} holds no block about a product group"
    with engine.begin() as conn:
        conn.execute(update(preference_table).where(preference_table.c.customer_id == customer)
                     .values(excluded_groups=groups, click_tracking=False))

    response = view_client(engine, cfg).get(view_path(sent[email]))

    assert response.status_code == 200
    assert response.content == masked(sent[email], email)
    # The test can fail: rendered from today's content and choices, the mail is another one.
    with engine.connect() as conn:
        recipient = Recipient.from_row(current_send_rows(conn, [customer])[0])
    edition = Edition(content, content.templates["weekly"], EDITION, experiment_key=cfg.experiment_key)
    assembly = edition.assembly_for(recipient)
    renderer = renderer_of(cfg)
    now = renderer.html(edition, renderer.for_recipient(edition, assembly, recipient), recipient).encode()
    assert now != sent[email] and "Changed after the send." not in response.text


def test_the_ledger_names_each_sent_body_stored_once_per_variant(engine, db_url, content_dir, tmp_path):
    add_customers(engine, 40, excluded=lambda n: ["outdoor"] if n % 5 == 0 else [])
    with engine.begin() as conn:  # a few opted out of click measuring: the untracked body
        conn.execute(update(preference_table).where(preference_table.c.customer_id % 7 == 0)
                     .values(click_tracking=False))
    cfg = settings(db_url, content_dir)
    box = tmp_path / "outbox"
    # Two workers, small batches: each compiles (and archives) the variants it meets.
    spec = SendSpec(cfg, "weekly", EDITION, f"maildir:{box}", batch_size=3)
    content = load_content(content_dir)
    plan_run(engine, content, spec)
    first = BatchSender(spec, "w1", engine=engine, content=content)
    for _ in range(4):
        first.send_batch()
    first.close()
    send(engine, cfg, box, name="w2", batch_size=3)

    found = [r for r in rows(engine).values() if r.state == "sent"]
    assert len(found) > 30 and all(r.body_digest and len(r.body_digest) == 64 for r in found)
    by_label = {}
    for r in found:
        by_label.setdefault(r.variant, set()).add(r.body_digest)
    assert all(len(digests) == 1 for digests in by_label.values())  # one body per variant
    assert any(label.endswith(" (untracked)") for label in by_label)
    with engine.connect() as conn:
        bodies = dict(conn.execute(select(archive.archive_body.c.digest, archive.archive_body.c.size)).all())
        editions = set(conn.execute(select(archive.archive_edition.c.variant, archive.archive_edition.c.digest)))
    assert set(bodies) == {d for ds in by_label.values() for d in ds}  # stored once, however many workers
    assert editions == {(label, d) for label, ds in by_label.items() for d in ds}
    # Each body, filled for one of its recipients, is their mail's HTML part.
    parts = html_parts(box)
    renderer = renderer_of(cfg)
    for label, (digest,) in by_label.items():
        row = next(r for r in found if r.variant == label)
        with engine.connect() as conn:
            copy = archive.sent_copy(conn, ledger.EditionKey("weekly", EDITION), row.customer_id)
            recipient = Recipient.from_row(current_send_rows(conn, [row.customer_id])[0])
        assert copy.digest == digest and copy.variant == label
        assert renderer.sent_html(copy.body, recipient).encode() == parts[recipient.email]


class ArchiveChecking:
    """A Maildir deliverer that, at every handover, asks the database through its own connection
    whether the message's body is archived already (committed): the crash-safety invariant."""

    def __init__(self, inner, engine, renderer: Renderer):
        self.inner, self.engine, self.renderer = inner, engine, renderer
        self.record_every, self.checked = inner.record_every, 0

    def deliver(self, envelope):
        parsed = message_from_bytes(envelope.data, policy=policy.default)
        html = parsed.get_body(("html",)).get_payload(decode=True)
        with self.engine.connect() as conn:
            row = conn.execute(select(customer_table.c.id).where(customer_table.c.email == envelope.recipient)).one()
            recipient = Recipient.from_row(current_send_rows(conn, [row.id])[0])
            stored = conn.execute(select(archive.archive_body.c.compression, archive.archive_body.c.data)).all()
        bodies = [archive.body_from(c, d) for c, d in stored]
        assert any(self.renderer.sent_html(b, recipient).encode() == html for b in bodies)
        self.checked += 1
        return self.inner.deliver(envelope)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_body_is_committed_before_its_first_message_is_handed_over(engine, db_url, content_dir, tmp_path):
    from service.delivery.registry import parse_target

    add_customers(engine, 10)
    cfg = settings(db_url, content_dir)
    box = tmp_path / "outbox"
    checking = ArchiveChecking(parse_target(f"maildir:{box}").open(share=1), engine, renderer_of(cfg))
    send(engine, cfg, box, deliverer=checking)
    assert checking.checked == 10


def test_a_message_found_after_a_crash_gets_its_archived_body(engine, db_url, content_dir, tmp_path):
    """A worker dies after the Maildir got a message and before the ledger knew: the worker that
    takes the row over records it sent, pointing at the body (archived by itself if need be)."""
    from test_send import die_mid_batch

    ids = add_customers(engine, 6)
    cfg = settings(db_url, content_dir)
    box = tmp_path / "outbox"
    spec = SendSpec(cfg, "weekly", EDITION, f"maildir:{box}", lease=0.3, batch_size=3)
    content = load_content(content_dir)
    plan_run(engine, content, spec)
    claims = die_mid_batch(spec, engine, content, after=1)
    survivor = BatchSender(spec, "survivor", engine=engine, content=content)
    assert survivor.run_until_done() == 0
    survivor.close()
    got = claims[0].customer_id
    found = rows(engine)
    assert (found[got].answer, found[got].body_digest is not None) == ("found at the destination after a crash", True)
    assert all(found[n].state == "sent" and found[n].body_digest for n in ids)
    sent = html_parts(box)[f"kunde.{got}@example.com"]
    response = view_client(engine, cfg).get(view_path(sent))
    assert response.content == masked(sent, f"kunde.{got}@example.com")


def test_preview_of_a_customer_who_was_sent_the_edition_is_the_sent_mail(engine, db_url, content_dir, tmp_path,
                                                                         monkeypatch):
    ids = add_customers(engine, 4)
    cfg = settings(db_url, content_dir)
    box = tmp_path / "outbox"
    send(engine, cfg, box)
    edit_block(content_dir, blocks_of(engine, rows(engine)[ids[2]].variant)[0])
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(content_dir))
    monkeypatch.setenv("NEWSLETTER_BASE_URL", cfg.base_url)
    runner = CliRunner()
    out = tmp_path / "preview.html"
    result = runner.invoke(app, ["preview", "weekly", "--date", EDITION.isoformat(), "--customer", f"CRM-{ids[2]}",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "the mail as it was sent" in result.output
    assert out.read_bytes() == html_parts(box)[f"kunde.{ids[2]}@example.com"]  # the address unmasked: staff
    # A customer like them who joined after the send: rendered from the content, as before.
    (twin,) = add_customers(engine, 1, attributes=lambda n: attributes_for(ids[2]),
                            locale=lambda n: "de" if ids[2] % 4 else "en")
    later = runner.invoke(app, ["preview", "weekly", "--date", EDITION.isoformat(), "--customer", f"CRM-{twin}",
                                "--out", str(tmp_path / "twin.html")])
    assert later.exit_code == 0 and "as it was sent" not in later.output
    assert "Changed after the send." in (tmp_path / "twin.html").read_text(encoding="utf-8")


def test_a_delivery_sent_before_the_archive_is_rendered_from_the_content(engine, db_url, content_dir, tmp_path):
    ids = add_customers(engine, 3)
    cfg = settings(db_url, content_dir)
    box = tmp_path / "outbox"
    send(engine, cfg, box)
    with engine.begin() as conn:  # as a row the send wrote before this migration
        conn.execute(update(delivery).values(body_digest=None))
    edit_block(content_dir, blocks_of(engine, rows(engine)[ids[0]].variant)[0])
    response = view_client(engine, cfg).get(view_path(html_parts(box)[f"kunde.{ids[0]}@example.com"]))
    assert response.status_code == 200 and "Changed after the send." in response.text


def test_prune_deletes_old_editions_archives_and_their_web_versions_answer_404(engine, db_url, content_dir,
                                                                                tmp_path, monkeypatch):
    ids = add_customers(engine, 4)
    cfg = settings(db_url, content_dir)
    send(engine, cfg, tmp_path / "first", EDITION)
    send(engine, cfg, tmp_path / "second", NEXT)
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    bad = runner.invoke(app, ["archive", "prune", "--older-than", "last year"])
    assert bad.exit_code == 2 and "neither a number of days" in bad.output
    done = runner.invoke(app, ["archive", "prune", "--older-than", NEXT.isoformat()])
    assert done.exit_code == 0, done.output
    assert f"pruned the archive of 1 editions dated before {NEXT.isoformat()}" in done.output
    with engine.connect() as conn:
        kept = set(conn.execute(select(archive.archive_edition.c.edition_date).distinct()).scalars())
        digests = set(conn.execute(select(archive.archive_body.c.digest)).scalars())
    assert kept == {NEXT}
    assert digests == {r.body_digest for r in rows(engine, NEXT).values() if r.state == "sent"}
    assert all(r.body_digest for r in rows(engine).values() if r.state == "sent")  # the ledger keeps its word
    client = view_client(engine, cfg)
    email = f"kunde.{ids[0]}@example.com"
    old = client.get(view_path(html_parts(tmp_path / "first")[email]))
    assert old.status_code == 404 and "This view does not exist" in old.text
    young = html_parts(tmp_path / "second")[email]
    assert client.get(view_path(young)).content == masked(young, email)
    # Days count back from today: N days keeps the edition of N days ago, N - 1 does not.
    days = (date.today() - NEXT).days
    assert "of 0 editions" in runner.invoke(app, ["archive", "prune", "--older-than", f"{days}d"]).output
    assert "of 1 editions" in runner.invoke(app, ["archive", "prune", "--older-than", f"{days - 1}d"]).output
    assert client.get(view_path(young)).status_code == 404


def sample_body(word: str) -> SentBody:
    from service.assembly.personal import Substitution

    return SentBody("weekly/2026-11-23", "de", "there", Substitution.split("Hi @@nl:recipient.first_name@@"),
                            Substitution.split(f"<p>{word} @@nl:recipient.first_name@@</p>"), Substitution.split(word))


def test_prune_keeps_a_body_a_younger_edition_still_names(engine):
    old, young = ledger.EditionKey("weekly", EDITION), ledger.EditionKey("weekly", NEXT)
    shared, alone = sample_body("shared"), sample_body("alone")
    with for_writes(engine).begin() as conn:
        assert archive.store(conn, old, "vip/de", shared) == shared.digest()
        archive.store(conn, old, "vip/de", alone)
        archive.store(conn, old, "vip/de -kids", alone)  # another variant, the same body: one row
        archive.store(conn, young, "vip/de", shared)
        assert conn.execute(select(func.count()).select_from(archive.archive_body)).scalar_one() == 2
    with for_writes(engine).begin() as conn:
        done = archive.prune(conn, NEXT)
        left = set(conn.execute(select(archive.archive_body.c.digest)).scalars())
        editions = conn.execute(select(archive.archive_edition.c.edition_date).distinct()).scalars().all()
    assert (done.editions, done.bodies, left, editions) == (1, 1, {shared.digest()}, [NEXT])
    assert done.compressed_bytes > 0
