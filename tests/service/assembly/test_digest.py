"""A best-of edition's assembly: a slot's candidates in the order of a measured ranking, the thin
ones topping it up by the normal rules, the variant key and label telling the digest apart."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType

import pytest

from repo_paths import ROOT
from service.assembly.digest import Measured, Ranking, window
from service.assembly.edition import Edition
from service.content.check import load_content

DAY = date(2026, 12, 7)  # the first Monday of December: the monthly readers' edition


@pytest.fixture(scope="module")
def content():
    return load_content(ROOT / "content")


def ranking(content, measured: dict[str, tuple[int, int]], segment: str = "everyone") -> Ranking:
    digest = content.templates["weekly"].digest_for("monthly")
    first, last = window(digest, DAY)
    found = {f"product-news/{story}": Measured(*pair) for story, pair in measured.items()}
    return Ranking(digest.name, first, last, (), MappingProxyType({segment: MappingProxyType(found)}))


def products(content, measured, excluded=(), segment="everyone", locale="de"):
    weekly = content.templates["weekly"]
    digest = weekly.digest_for("monthly")
    edition = Edition(content, weekly, DAY, rankings={digest.name: ranking(content, measured, segment)})
    assembly = edition.assemble(content.audience.segment(segment), locale, excluded, digest=digest)
    fill = next(f for f in assembly.fills if f.slot.name == "products")
    return assembly, [b.story.split("/")[1] for b in fill.chosen], fill


def test_the_best_rates_in_the_segment_fill_the_slot_whatever_their_priority(content):
    assembly, chosen, fill = products(content, {"dog-beds": (90, 300), "cordless-drill": (60, 300),
                                                "wood-stoves": (30, 300), "fairy-lights": (3, 300)})
    assert chosen == ["dog-beds", "cordless-drill", "wood-stoves"]  # priorities 10, 15, 35 beat 70
    assert assembly.key.digest == "best of 4w" and assembly.key.label() == "everyone/de (best of 4w)"
    assert [r.place for r in fill.ranking[:4]] == [1, 2, 3, 4]
    trace = assembly.trace()
    assert "    #1 product-news/dog-beds.de: 30.0% (90 of 300 measured recipients), chosen" in trace
    assert "    #4 product-news/fairy-lights.de: 1.0% (3 of 300 measured recipients)" in trace


def test_thin_results_top_the_slot_up_by_the_normal_rules(content):
    # Only one block has enough recipients; one has too few (thin), the rest none: priority order.
    _, chosen, fill = products(content, {"dog-beds": (50, 250), "cordless-drill": (199, 199)})
    assert chosen == ["dog-beds", "fairy-lights", "gift-guide-kitchen"]
    places = {r.block: r for r in fill.ranking}
    assert places["product-news/cordless-drill.de"].place is None
    digest = content.templates["weekly"].digests[0]
    assert places["product-news/cordless-drill.de"].text(digest, False) == (
        "thin product-news/cordless-drill.de: 100.0% (199 of 199 measured recipients), fewer than 200, "
        "by the normal rules")
    assert places["product-news/fairy-lights.de"].text(digest, True) == (
        "top-up product-news/fairy-lights.de: no measured recipients in the window, by the normal rules")


def test_no_results_at_all_gives_the_week_s_blocks_under_the_digest_s_label(content):
    weekly = content.templates["weekly"]
    week = Edition(content, weekly, DAY).assemble(content.audience.segment("everyone"), "de")
    assembly, _, _ = products(content, {})
    assert [b.id for b in assembly.blocks] == [b.id for b in week.blocks]
    assert assembly.key != week.key and assembly.body_key == week.body_key  # one compile serves both


def test_an_expired_block_is_never_picked_however_well_it_did(content):
    _, chosen, fill = products(content, {"garden-furniture-2026": (300, 300), "dog-beds": (10, 300)})
    assert "garden-furniture-2026" not in chosen and chosen[0] == "dog-beds"
    assert all("garden-furniture" not in r.block for r in fill.ranking)
    assert any(r.block == "product-news/garden-furniture-2026.de" and r.reason.startswith("expired")
               for r in fill.rejected)


def test_a_customer_s_excluded_group_leaves_the_block_out_and_the_next_moves_up(content):
    measured = {"dog-beds": (90, 300), "cordless-drill": (60, 300), "wood-stoves": (30, 300)}
    assembly, chosen, _ = products(content, measured, excluded=("pets",))
    assert chosen == ["cordless-drill", "wood-stoves", "fairy-lights"]
    assert assembly.key.label() == "everyone/de/-pets (best of 4w)"


def test_equal_rates_prefer_more_recipients_then_the_normal_order(content):
    _, chosen, _ = products(content, {"dog-beds": (20, 200), "cordless-drill": (40, 400),
                                      "wood-stoves": (20, 200), "cast-iron-cookware": (1, 200)})
    assert chosen == ["cordless-drill", "wood-stoves", "dog-beds"]  # 10% each: 400 first, then priority 35 > 10


def test_the_ranking_is_the_segment_s_own(content):
    _, vip, _ = products(content, {"dog-beds": (90, 300)}, segment="vip")
    weekly = content.templates["weekly"]
    digest = weekly.digest_for("monthly")
    edition = Edition(content, weekly, DAY, rankings={digest.name: ranking(content, {"dog-beds": (90, 300)}, "vip")})
    other = edition.assemble(content.audience.segment("everyone"), "de", digest=digest)
    assert vip[0] == "dog-beds" and "product-news/dog-beds.de" not in [b.id for b in other.blocks]


def test_a_ranking_survives_its_json_and_knows_its_window(content):
    found = ranking(content, {"dog-beds": (90, 300)})
    assert (found.first, found.last) == (date(2026, 11, 9), date(2026, 12, 6))
    again = Ranking.from_json(found.to_json(), "2026-12-07T06:00:00+00:00")
    assert again.segments == found.segments and again.decided == "2026-12-07T06:00:00+00:00"


def test_digest_variants_are_compiled_once_each_never_per_recipient(content, monkeypatch):
    import service.assembly.render as render_module
    from preferences.links import LinkSigner
    from service.assembly.recipient import Recipient
    from service.assembly.render import Renderer

    compiled = []
    real = render_module.compile_mjml
    monkeypatch.setattr(render_module, "compile_mjml", lambda *args: compiled.append(1) or real(*args))
    weekly = content.templates["weekly"]
    digest = weekly.digest_for("monthly")
    measured = {"dog-beds": (90, 300), "cordless-drill": (60, 300), "wood-stoves": (30, 300)}
    rankings = {digest.name: Ranking(digest.name, *window(digest, DAY), (), MappingProxyType(
        {s.id: ranking(content, measured, s.id).of(s.id) for s in content.audience.segments}))}
    edition = Edition(content, weekly, DAY, rankings=rankings, experiment_key=b"k" * 32)
    renderer = Renderer(LinkSigner([b"test-link-key-0123456789abcdef"]), "https://news.example.com",
                        "unsubscribe@nordhaus.example")
    attributes = ({"lifecycle": "customer", "purchasing_power": 5, "loyalty_member": True, "last_order": "2026-11-01"},
                  {"lifecycle": "subscriber"}, {"lifecycle": "customer", "last_order": "2024-01-01"})
    keys, bodies, digests = set(), set(), set()
    for n in range(240):
        recipient = Recipient(public_id=f"pub{n:018d}A", email=f"c{n}@example.com", first_name=f"K{n}",
                              locale=("de", "en")[n % 2], attributes=attributes[n % 3],
                              excluded_groups=frozenset({"pets"} if n % 5 == 0 else ()))
        segment = edition.segment_for(recipient.attributes, recipient.locale)
        assembly = edition.assemble(segment, recipient.locale, recipient.excluded_groups,
                                    customer=recipient.public_id, digest=digest if n % 4 < 2 else None)
        variant = renderer.for_recipient(edition, assembly, recipient)
        assert renderer.html(edition, variant, recipient).startswith("<!doctype html>")
        best = any(b.story == "product-news/dog-beds" for b in assembly.blocks)
        assert best == (assembly.key.digest is not None and "pets" not in assembly.key.exclusions)
        keys.add(assembly.key)
        bodies.add(assembly.body_key)
        if assembly.key.digest:
            digests.add(assembly.body_key)
    assert digests - {k for k in bodies if k not in digests}  # the digests hold other blocks than the week's
    assert len(compiled) == len(bodies) <= len(keys) < 240
