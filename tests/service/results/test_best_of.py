"""The best of the month: over a seeded click log of four weekly editions really sent, the
monthly readers' edition of the first Monday of December picks, per segment and slot, the blocks
an independent computation from the raw rows (deliveries, what each variant held, clicks) picks;
thin results top up by the normal rules, an expired block is never picked, and the ranking is
decided once per edition (a resumed run keeps it).

On SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import shutil
import zlib
from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import insert, select

from send_fixtures import CONTENT, add_customers, db_url, engine, migrated_postgres_url, plan_and_deliver  # noqa: F401
from service.content.check import load_content
from service.results.best_of import decide_for_send, rankings_for
from service.results.refresh import refresh
from service.results.tables import HUMAN, click
from service.sending import ledger
from service.sending.contents import variant_block
from service.sending.digests import decided_rankings
from service.sending.spec import SendSpec
from service.settings import Settings

WEEKS = (date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30))  # sent; 11-09 has no send
DIGEST_DAY = date(2026, 12, 7)
MIN_RECIPIENTS = 100


@pytest.fixture
def content_dir(tmp_path):
    """The demo content with a monthly digest whose min_recipients this small audience can reach."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    yaml = target / "templates/weekly/template.yaml"
    text = yaml.read_text(encoding="utf-8")
    yaml.write_text(text.replace("window: 4w, rank: click_rate, min_recipients: 200",
                                 f"window: 4w, rank: click_rate, min_recipients: {MIN_RECIPIENTS}"), encoding="utf-8")
    return target


def send(engine, url, content_dir, outbox, day, content):
    spec = SendSpec(Settings(database_url=url, content_dir=content_dir), "weekly", day, f"maildir:{outbox}")
    decide_for_send(engine, content, "weekly", day)  # as `newsletter send` does before its workers start
    plan_and_deliver(engine, spec, content)


def weight(story: str, segment: str) -> int:
    """How likely (in percent) a reader of ``segment`` clicks ``story``: fixed per pair."""
    return zlib.crc32(f"{segment}|{story}".encode()) % 60


def seed_clicks(engine, content) -> None:
    """Clicks on the blocks each customer was sent, by a fixed pseudo-random rule, an hour after
    the send and a minute apart (human by the machine rule)."""
    rows = []
    with engine.connect() as conn:
        held = defaultdict(list)
        for day, variant, owner, team in conn.execute(select(variant_block.c.edition_date, variant_block.c.variant,
                                                             variant_block.c.owner, variant_block.c.team)):
            if owner != "layout":
                held[(day, variant)].append((owner, team))
        for day in WEEKS:
            for d in ledger.deliveries_of(conn, ledger.EditionKey("weekly", day)):
                if d.state != ledger.SENT:
                    continue
                public = f"pub{d.customer_id:018d}A"
                for n, (owner, team) in enumerate(sorted(held[(day, d.variant)])):
                    story = content.blocks[owner].story
                    if zlib.crc32(f"{day}|{public}|{story}".encode()) % 100 < weight(story, d.segment):
                        rows.append(dict(template="weekly", edition_date=day, customer=public, owner=owner, team=team,
                                         link_index=0, url="https://www.nordhaus.example/x", segment=d.segment,
                                         variant=d.variant, client_hash=f"h{d.customer_id}",
                                         clicked_at=d.updated_at + timedelta(hours=1, minutes=n)))
    with engine.begin() as conn:
        conn.execute(insert(click), rows)


def story_of(content, owner: str) -> str:
    """What competes in a digest: a story, an experiment's arms counted with their original."""
    block = content.blocks[owner]
    return block.arm_of or block.story


def expected_rates(engine, content) -> dict:
    """From the raw rows, independently of the product's query: per (segment, story), the
    customers who got it with measuring on and the unique (edition, customer) human clickers."""
    recipients, clickers = defaultdict(int), defaultdict(set)
    with engine.connect() as conn:
        held = defaultdict(set)
        for row in conn.execute(select(variant_block)):
            held[(row.edition_date, row.variant)].add(row.owner)
        for day in WEEKS:
            for d in ledger.deliveries_of(conn, ledger.EditionKey("weekly", day)):
                if d.state == ledger.SENT and not d.variant.endswith("(untracked)"):
                    for owner in held[(day, d.variant)] - {"layout"}:
                        recipients[(d.segment, story_of(content, owner))] += 1
        for c in conn.execute(select(click).where(click.c.verdict == HUMAN)):
            clickers[(c.segment, story_of(content, c.owner))].add((c.edition_date, c.customer))
    return {key: (len(clickers[key]), n) for key, n in recipients.items()}


def expected_choice(content, rates, segment, slot, locale="de") -> list[str]:
    """The stories an independent reading of the rules picks for a digest slot."""
    template = content.templates["weekly"]
    spec = template.slot(slot)
    fallbacks = {content.blocks[s.fallback].story for t in content.templates.values() for s in t.slots if s.fallback}
    stories = {}
    for b in content.blocks.values():
        if (b.slot == slot and b.team in spec.teams and b.arm_of is None and b.status == "ready"
                and b.live_on(DIGEST_DAY) and b.story not in fallbacks
                and (b.segments is None or segment in b.segments) and b.locale in (locale, "de")):
            if b.story not in stories or b.locale == locale:
                stories[b.story] = b

    def normal(b):
        return (-b.priority, -(b.publish.toordinal() if b.publish else 0), b.id)
    measured = {s: rates[(segment, s)] for s in stories if (segment, s) in rates and rates[(segment, s)][1] >= MIN_RECIPIENTS}
    ranked = sorted((stories[s] for s in measured),
                    key=lambda b: (-Fraction(*measured[b.story]), -measured[b.story][1], normal(b)))
    rest = sorted((b for s, b in stories.items() if s not in measured), key=normal)
    return [b.story for b in (ranked + rest)[:spec.max]]


def test_the_monthly_readers_get_the_blocks_an_independent_count_of_the_clicks_picks(engine, db_url, content_dir,  # noqa: F811
                                                                                    tmp_path):
    content = load_content(content_dir)
    # Every 8th customer reads monthly: they are skipped in the window's mid-month editions.
    add_customers(engine, 480, frequency=lambda n: "monthly" if n % 8 == 0 else "weekly",
                  locale=lambda n: "de", excluded=lambda n: [])
    for day in WEEKS:
        send(engine, db_url, content_dir, tmp_path / f"out-{day}", day, content)
    seed_clicks(engine, content)
    refresh(engine, everything=True)
    rates = expected_rates(engine, content)
    assert any(n < MIN_RECIPIENTS for _, n in rates.values()) and any(n >= MIN_RECIPIENTS for _, n in rates.values())

    send(engine, db_url, content_dir, tmp_path / "out-digest", DIGEST_DAY, content)
    with engine.connect() as conn:
        rows = ledger.deliveries_of(conn, ledger.EditionKey("weekly", DIGEST_DAY))
        held = defaultdict(list)
        for row in conn.execute(select(variant_block).where(variant_block.c.edition_date == DIGEST_DAY)
                                .order_by(variant_block.c.position)):
            held[row.variant].append((row.slot, story_of(content, row.owner) if row.owner != "layout" else ""))
        decided = decided_rankings(conn, "weekly", DIGEST_DAY)
    monthly = [r for r in rows if r.customer_id % 8 == 0 and r.state == ledger.SENT]
    weekly = [r for r in rows if r.customer_id % 8 and r.state == ledger.SENT]
    assert monthly and weekly
    assert all(r.variant.endswith(" (best of 4w)") for r in monthly)
    assert not any("best of" in r.variant for r in weekly)
    reordered = topped_up = 0
    for variant in {r.variant for r in monthly}:
        segment = next(r.segment for r in monthly if r.variant == variant)
        for slot in ("products", "advice", "offers"):
            got = [story for s, story in held[variant] if s == slot]
            assert got == expected_choice(content, rates, segment, slot), (variant, slot)
            reordered += got != expected_choice(content, {}, segment, slot)  # not what the week's rules give
            topped_up += any(rates.get((segment, story), (0, 0))[1] < MIN_RECIPIENTS for story in got)
    assert reordered and topped_up  # the clicks changed the choice somewhere, and thin slots were topped up
    # The measured figures kept for the send are the independent ones.
    kept = decided["best of 4w"]
    assert {(s, story): (m.clickers, m.recipients) for s, found in kept.segments.items()
            for story, m in found.items()} == {k: v for k, v in rates.items()}
    assert kept.editions == WEEKS and kept.first == date(2026, 11, 9)


def test_an_expired_block_is_never_picked_and_the_send_s_ranking_stays_decided(engine, db_url, content_dir):  # noqa: F811
    content = load_content(content_dir)
    add_customers(engine, 40, frequency=lambda n: "monthly", locale=lambda n: "de")
    with engine.begin() as conn:  # a big click rate on a block that expired since (garden furniture)
        conn.execute(insert(variant_block), [dict(template="weekly", edition_date=date(2026, 11, 23),
                                                  variant="everyone/de", owner=o, team="product-news",
                                                  slot="products", title=o, position=i)
                                             for i, o in enumerate(("product-news/garden-furniture-2026.de",
                                                                    "product-news/dog-beds.de"), 1)])
    from service.results.tables import result_audience, result_click
    with engine.begin() as conn:
        conn.execute(insert(result_audience), [dict(template="weekly", edition_date=date(2026, 11, 23), measure=m,
                                                    key="", segment="everyone", variant="everyone/de", customers=100)
                                               for m in ("delivered", "measured")])
        conn.execute(insert(result_click), [dict(template="weekly", edition_date=date(2026, 11, 23), dimension="block",
                                                 key=o, segment="everyone", variant="everyone/de", detail="",
                                                 clicks=n, clickers=n, machine_clicks=0)
                                            for o, n in (("product-news/garden-furniture-2026.de", 90),
                                                         ("product-news/dog-beds.de", 30))])
    with engine.connect() as conn:
        live = rankings_for(conn, content, "weekly", DIGEST_DAY)["best of 4w"]
    assert live.of("everyone")["product-news/garden-furniture-2026"].clickers == 90
    assert live.decided == "live"
    first = decide_for_send(engine, content, "weekly", DIGEST_DAY)["best of 4w"]
    from service.assembly.edition import Edition
    edition = Edition(content, content.templates["weekly"], DIGEST_DAY, rankings={"best of 4w": first})
    digest = content.templates["weekly"].digest_for("monthly")
    chosen = [b.story for b in edition.assemble(content.audience.segment("everyone"), "de", digest=digest).blocks]
    assert "product-news/dog-beds" in chosen and "product-news/garden-furniture-2026" not in chosen
    with engine.begin() as conn:  # more clicks come in; a resumed send keeps the decided ranking
        conn.execute(result_click.update().values(clickers=0))
    again = decide_for_send(engine, content, "weekly", DIGEST_DAY)["best of 4w"]
    assert again.segments == first.segments and again.decided != "live"
    with engine.connect() as conn:
        assert rankings_for(conn, content, "weekly", DIGEST_DAY)["best of 4w"].segments == first.segments


def test_newsletter_send_decides_the_ranking_before_its_workers_and_keeps_it(engine, db_url, tmp_path,  # noqa: F811
                                                                          monkeypatch):
    from typer.testing import CliRunner

    from service.cli.main import app
    add_customers(engine, 12, frequency=lambda n: ("monthly", "biweekly", "weekly")[n % 3])
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    args = ["send", "weekly", "--date", DIGEST_DAY.isoformat(), "--to", f"maildir:{tmp_path / 'box'}", "--workers", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "weekly 2026-12-07: best of 4w: editions 2026-11-09 to 2026-12-06 (none with results yet); decided" \
        in result.output
    with engine.connect() as conn:
        rows = ledger.deliveries_of(conn, ledger.EditionKey("weekly", DIGEST_DAY))
        kept = decided_rankings(conn, "weekly", DIGEST_DAY)
    assert set(kept) == {"best of 4w", "best of 2w"} and kept["best of 4w"].decided != "live"
    assert all(r.state == ledger.SENT for r in rows) and len(rows) == 12
    assert not any("best of" in r.variant for r in rows if r.customer_id % 3 == 2)  # the weekly readers
    assert all(r.variant.endswith("(best of 4w)") for r in rows if r.customer_id % 3 == 0)
    assert all(r.variant.endswith("(best of 2w)") for r in rows if r.customer_id % 3 == 1)
