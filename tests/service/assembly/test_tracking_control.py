"""What editors and customers control about tracked links: ``tracking: false`` on a block or a
template, the template's ``utm:`` parameters, and a customer who opted out of click measuring.
On a copy of the demo content without its ``utm:`` line, so that each test says the utm it uses."""

from __future__ import annotations

import html
import re
import shutil
from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest

from repo_paths import CONTENT
from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.assembly.tracking import LAYOUT, open_target, with_utm
from service.content.check import load_content

from test_tracking import ANNA, BASE, SIGNER, TRACKED
from service.settings import Settings

EXPERIMENT_KEY = Settings().experiment_key  # the demo content has an experiment: customers get arms

DAY = date(2026, 11, 23)
UTM = 'utm: {source: newsletter, medium: email, campaign: "{edition}", content: "{block}", term: "{team}"}\n'
EXTRA_LINK = "https://www.nordhaus.example/extra?colour=red&amp;utm_source=partner#top"


def compiled(root, tracked: bool = True):
    content = load_content(root)
    edition = Edition(content, content.templates["weekly"], DAY, experiment_key=EXPERIMENT_KEY)
    renderer = Renderer(SIGNER, BASE, "u@news.example")
    assembly = edition.assembly_for(ANNA)
    return assembly, renderer.variant(edition, assembly, tracked=tracked), renderer, edition


def hrefs(variant) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', "".join(variant.html.literals))]


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    template = root / "templates" / "weekly" / "template.yaml"
    kept = [line for line in template.read_text(encoding="utf-8").splitlines(keepends=True)
            if not line.startswith("utm:")]
    template.write_text("".join(kept), encoding="utf-8")
    return root


def set_front_matter(root, block_id: str, line: str) -> None:
    path = root / "blocks" / f"{block_id}.mjml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("---\n", f"---\n{line}\n", 1), encoding="utf-8")


def add_to_template(root, line: str) -> None:
    path = root / "templates" / "weekly" / "template.yaml"
    path.write_text(line + path.read_text(encoding="utf-8"), encoding="utf-8")


def add_link(root, block_id: str, url: str) -> None:
    path = root / "blocks" / f"{block_id}.mjml"
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n")
                    + f'\n<mj-section><mj-column><mj-button href="{url}">More</mj-button></mj-column></mj-section>\n',
                    encoding="utf-8")


def owners_with_links(variant) -> set[str]:
    return {t.owner for t in variant.links}


def test_a_block_with_tracking_false_keeps_its_links_the_others_are_tracked(tree):
    _, before, _, edition = compiled(tree)
    # Not a block of an experiment: an untracked original or arm is a check error (experiments are
    # decided on their clicks), tested in tests/service/content/test_experiments.py.
    blocks, experiments = edition.content.blocks, edition.content.experiments
    quiet = sorted(o for o in owners_with_links(before) - {LAYOUT}
                   if blocks[o].arm_of is None and blocks[o].story not in experiments)[0]
    its_urls = {t.url for t in before.links if t.owner == quiet}
    set_front_matter(tree, quiet, "tracking: false")
    _, after, _, _ = compiled(tree)
    assert quiet not in owners_with_links(after)
    assert owners_with_links(after) == owners_with_links(before) - {quiet}  # layout and the other blocks
    assert its_urls <= set(hrefs(after))  # as written, straight to the shop


def test_a_template_with_tracking_false_tracks_nothing_not_the_layout_either(tree):
    add_to_template(tree, "tracking: false\n")
    _, variant, _, _ = compiled(tree)
    assert variant.links == ()
    assert not any("/r/" in h for h in hrefs(variant))
    assert "https://www.nordhaus.example/" in hrefs(variant)  # the layout's logo link, as written


def test_utm_parameters_on_every_considered_link(tree):
    add_to_template(tree, UTM)
    _, variant, renderer, edition = compiled(tree)
    assert variant.links and len({t.owner for t in variant.links}) >= 4
    for target in variant.links:
        query = dict(parse_qsl(urlsplit(target.url).query))
        team = target.team or LAYOUT
        assert query["utm_source"] == "newsletter" and query["utm_medium"] == "email"
        assert query["utm_campaign"] == "weekly-2026-11-23"
        assert query["utm_content"] == target.owner and query["utm_term"] == team
    # The personal links and mailto: get none.
    page = renderer.html(edition, variant, ANNA)
    sent = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page)]
    personal = [h for h in sent if not TRACKED.fullmatch(h)]
    assert personal and all(h.startswith(("mailto:", f"{BASE}/")) and "utm_" not in h for h in personal)


def test_utm_keeps_the_query_and_fragment_and_an_editors_own_utm(tree):
    add_to_template(tree, UTM)
    _, plain, _, _ = compiled(tree)
    block = sorted(owners_with_links(plain) - {LAYOUT})[0]
    add_link(tree, block, EXTRA_LINK)
    _, variant, _, _ = compiled(tree)
    extra = [t for t in variant.links if t.url.startswith("https://www.nordhaus.example/extra")]
    assert len(extra) == 1
    url = urlsplit(extra[0].url)
    assert url.fragment == "top"
    assert parse_qsl(url.query) == [("colour", "red"), ("utm_source", "partner"), ("utm_medium", "email"),
                                    ("utm_campaign", "weekly-2026-11-23"), ("utm_content", block),
                                    ("utm_term", block.split("/")[0])]


def test_utm_also_where_nothing_is_tracked(tree):
    add_to_template(tree, UTM)
    _, variant, _, _ = compiled(tree, tracked=False)
    assert variant.links == ()
    shop = [h for h in hrefs(variant) if h.startswith("https://www.nordhaus.example")]
    assert shop and all("utm_campaign=weekly-2026-11-23" in h for h in shop)
    assert "https://www.nordhaus.example/?utm_source=newsletter&utm_medium=email&utm_campaign=weekly-2026-11-23" \
           "&utm_content=layout&utm_term=layout" in hrefs(variant)


def test_a_share_button_gets_no_utm(tree):
    layout = tree / "templates" / "weekly" / "layout.mjml"
    layout.write_text(layout.read_text(encoding="utf-8").replace(
        'name="facebook-noshare" alt="Facebook" href="https://www.facebook.com/nordhaus.example"',
        'name="facebook" alt="Facebook" href="https://www.nordhaus.example/share-me"'), encoding="utf-8")
    add_to_template(tree, UTM)
    _, variant, _, _ = compiled(tree)
    assert not any("share-me" in t.url for t in variant.links)
    shared = [h for h in hrefs(variant) if "share-me" in h]
    assert shared and not any("utm_" in h for h in shared)


def test_an_opted_out_recipient_gets_the_untracked_body_compiled_once(tree):
    content = load_content(tree)
    edition = Edition(content, content.templates["weekly"], DAY, experiment_key=EXPERIMENT_KEY)
    renderer = Renderer(SIGNER, BASE, "u@news.example")
    assembly = edition.assembly_for(ANNA)
    calls = []
    compile_ = renderer._compile
    renderer._compile = lambda *args: calls.append(args[-1]) or compile_(*args)
    quiet = Recipient(public_id="B" * 22, email="ben@example.com", first_name="Ben", locale="de",
                      attributes=ANNA.attributes, click_tracking=False)
    untracked = renderer.for_recipient(edition, assembly, quiet)
    tracked = renderer.for_recipient(edition, assembly, ANNA)
    assert untracked.links == () and tracked.links
    assert renderer.for_recipient(edition, assembly, quiet) is untracked
    assert renderer.variant(edition, assembly) is tracked
    assert calls == [False, True]  # once per variant and mode, never per recipient
    page = renderer.html(edition, untracked, quiet)
    assert "/r/" not in page and f"{BASE}/view/" in page  # the personal links stay


@pytest.mark.parametrize("url, expected", [
    ("https://s.example/a", "https://s.example/a?utm_source=n"),
    ("https://s.example/a?x=1&y=", "https://s.example/a?x=1&y=&utm_source=n"),
    ("https://s.example/a?UTM_SOURCE=mine#f", "https://s.example/a?UTM_SOURCE=mine#f"),
    ("https://s.example/a#frag", "https://s.example/a?utm_source=n#frag"),
])
def test_with_utm(url, expected):
    assert with_utm(url, {"source": "n"}, {}) == expected


def test_with_utm_encodes_the_filled_in_values():
    assert with_utm("https://s.example/", {"content": "{block}"}, {"block": "offers/winter sale"}) == \
        "https://s.example/?utm_content=offers%2Fwinter%20sale"
