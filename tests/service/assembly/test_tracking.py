"""Tracked links in the demo edition: every web link of a block and of the layout leads through
``/r/``, sealed to its block, team and URL; the personal links and mailto stay as they were."""

from __future__ import annotations

import email
import email.policy
import html
import re
from datetime import date

import pytest

from preferences.errors import BadLink
from preferences.links import LinkSigner, Purpose
from repo_paths import CONTENT
from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer, date_header
from service.assembly.tracking import LAYOUT, TARGET_DICTIONARY, LinkTracker, Target, open_target, verify_click
from service.content.check import load_content
from service.settings import Settings

EXPERIMENT_KEY = Settings().experiment_key  # the demo content has an experiment: customers get arms

DAY = date(2026, 11, 23)
BASE = "https://news.example.com"
SIGNER = LinkSigner([b"test-link-key-0123456789abcdef", b"an-older-key-still-verifying"])
ANNA = Recipient(public_id="A" * 22, email="anna@example.com", first_name="Anna", locale="de",
                 attributes={"lifecycle": "customer", "last_order": "2026-11-01", "orders_12m": 3})
TRACKED = re.compile(r"https://news\.example\.com/r/(~?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22})/([A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22})")


@pytest.fixture(scope="module")
def sent():
    content = load_content(CONTENT)
    edition = Edition(content, content.templates["weekly"], DAY, experiment_key=EXPERIMENT_KEY)
    renderer = Renderer(SIGNER, BASE, "u@news.example")
    assembly = edition.assembly_for(ANNA)
    variant = renderer.variant(edition, assembly)
    data = renderer.message(edition, variant, ANNA, date_header())
    return assembly, variant, email.message_from_bytes(data, policy=email.policy.default)


def parts(message):
    return (message.get_body(("html",)).get_content(), message.get_body(("plain",)).get_content())


def test_every_web_link_of_every_block_and_the_layout_is_tracked(sent):
    assembly, variant, message = sent
    page, _ = parts(message)
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page)]
    untracked = [h for h in hrefs if not TRACKED.fullmatch(h)]
    # Only the personal links and mailto: stay as they were.
    assert untracked and all(h.startswith(("mailto:", f"{BASE}/preferences/", f"{BASE}/unsubscribe/",
                                           f"{BASE}/view/")) for h in untracked), untracked
    targets = [open_target(SIGNER, TRACKED.fullmatch(h).group(1)) for h in hrefs if TRACKED.fullmatch(h)]
    assert set(targets) == set(variant.links)
    owners = {t.owner for t in targets}
    chosen = {b.id: b.team for b in assembly.blocks}
    assert LAYOUT in owners and owners - {LAYOUT} <= set(chosen)
    assert len(owners - {LAYOUT}) >= 3  # the demo blocks link to the shop
    for target in targets:
        assert target.edition_id == "weekly/2026-11-23" and target.url.startswith("https://")
        assert target.team == chosen.get(target.owner, "")
    layout = [t for t in variant.links if t.owner == LAYOUT]
    assert [t.index for t in layout] == list(range(len(layout)))
    # The demo template's utm: (source, medium, campaign) is on every target.
    utm = "utm_source=newsletter&utm_medium=email&utm_campaign=weekly-2026-11-23"
    assert f"https://www.nordhaus.example/?{utm}" in {t.url for t in layout}
    assert f"https://www.instagram.com/nordhaus.example?{utm}" in {t.url for t in layout}
    assert all(t.url.endswith(utm) or f"{utm}#" in t.url for t in targets)


def test_the_recipient_part_is_one_token_for_the_edition(sent):
    _, _, message = sent
    page, text = parts(message)
    tokens = {m.group(2) for m in TRACKED.finditer(page)} | {m.group(2) for m in TRACKED.finditer(text)}
    assert len(tokens) == 1
    token = tokens.pop()
    target = open_target(SIGNER, TRACKED.search(page).group(1))
    assert verify_click(SIGNER, token, target) == ANNA.public_id
    other = Target("weekly/2026-11-30", target.owner, target.team, target.index, target.url)
    with pytest.raises(BadLink):  # bound to its edition
        verify_click(SIGNER, token, other)
    with pytest.raises(BadLink):  # and to its purpose: the view link's token, no other
        SIGNER.verify(token, Purpose.PREFERENCES)
    view = re.search(r'href="https://news\.example\.com/view/weekly/2026-11-23/([^"]+)"', page).group(1)
    assert view == token


def test_the_text_part_links_through_the_same_redirects(sent):
    _, variant, message = sent
    _, text = parts(message)
    targets = {open_target(SIGNER, m.group(1)) for m in TRACKED.finditer(text)}
    assert targets and targets <= set(variant.links)


@pytest.mark.parametrize("change", [
    lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # the signature
    lambda s: s[0] + ("A" if s[1] != "A" else "B") + s[2:],  # the sealed URL (after the "~")
    lambda s: s.split(".")[0],
    lambda s: "",
])
def test_a_target_changed_in_any_way_is_refused(sent, change):
    _, _, message = sent
    sealed = TRACKED.search(parts(message)[0]).group(1)
    with pytest.raises(BadLink):
        open_target(SIGNER, change(sealed))


def test_a_target_sealed_before_targets_were_deflated_still_opens():
    # Mails sent before the dictionary carry plain base64 targets: their links keep working.
    target = Target("weekly/2026-11-23", "offers/x", "offers", 0, "https://shop.example/a?b=1")
    assert open_target(SIGNER, SIGNER.seal(target.text(), Purpose.CLICK)) == target
    assert SIGNER.seal(target.text(), Purpose.CLICK, TARGET_DICTIONARY).startswith("~")


def test_a_target_sealed_with_another_key_is_refused():
    tracker = LinkTracker(LinkSigner([b"somebody-elses-key-0123456789"]), BASE, "weekly/2026-11-23")
    markup = tracker.track('<a href="https://evil.example/">x</a>', "offers/x", "offers")
    sealed = re.search(r"/r/([^/]+)/", markup).group(1)
    with pytest.raises(BadLink):
        open_target(SIGNER, sealed)


def test_what_is_left_alone():
    tracker = LinkTracker(SIGNER, BASE, "weekly/2026-11-23")
    markup = ('<a href="mailto:a@b.example">m</a><a href="tel:+49">t</a><a href="#top">a</a>'
              '<a href="/relative">r</a><a href="@@nl:links.preferences@@">p</a>'
              "<a href='https://shop.example/?a=1&amp;b=2'>s</a>")
    out = tracker.track(markup, "offers/x", "offers")
    assert out.startswith(markup[:markup.index("<a href='")])
    assert [t.url for t in tracker.targets] == ["https://shop.example/?a=1&b=2"]  # unescaped
    assert tracker.track(out, LAYOUT) == out  # tracked once, never twice


def test_a_share_button_is_never_given_a_tracked_link():
    """MJML puts a share button's href into the network's share URL: tracked, it would publish the
    recipient's token on that network."""
    tracker = LinkTracker(SIGNER, BASE, "weekly/2026-11-23")
    markup = ('<mj-social-element name="facebook" href="https://www.nordhaus.example/sale">F</mj-social-element>'
              '<mj-social-element name="facebook-noshare" href="https://www.facebook.com/nordhaus">F</mj-social-element>'
              '<mj-social-element href="https://blog.nordhaus.example/">Blog</mj-social-element>')
    out = tracker.track(markup, LAYOUT)
    assert out.startswith(markup[:markup.index("</mj-social-element>")])  # the share button as written
    assert [t.url for t in tracker.targets] == ["https://www.facebook.com/nordhaus", "https://blog.nordhaus.example/"]
