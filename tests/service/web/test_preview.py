"""The staff preview pages: index, variant page, the email alone; edits show without a restart."""

from __future__ import annotations

import html
import re
import shutil
from datetime import date

import pytest
from starlette.testclient import TestClient

from content_tree import write_tree
from repo_paths import CONTENT
from preferences.links import LinkSigner
from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.content.check import load_content
from service.settings import Settings
from service.web import preview as preview_pages
from service.web.app import create_app

XSS = "<img src=x onerror=alert(1)>"
DRAFT_BLOCK = """\
    ---
    title: Sledges (draft)
    slot: products
    status: draft
    priority: 90
    ---
    <mj-section><mj-column><mj-text>Sledges are coming</mj-text></mj-column></mj-section>
    """


def client_for(content_dir, **settings) -> TestClient:
    # A browser on this machine: without a password the staff pages are open to it only.
    return TestClient(create_app(Settings(content_dir=content_dir, **settings)), client=("127.0.0.1", 50000))


@pytest.fixture(scope="module")
def demo() -> TestClient:
    return client_for(CONTENT)


@pytest.fixture
def tiny(tmp_path):
    root = write_tree(tmp_path, {"blocks/news/sledges.mjml": DRAFT_BLOCK})
    return client_for(root), root


def srcdoc(page: str) -> str:
    """The email shown in the page's iframe, as the browser decodes the attribute."""
    return html.unescape(re.search(r'<iframe[^>]*\ssrcdoc="([^"]*)"', page).group(1))


def pre(page: str, css_class: str) -> str:
    return html.unescape(re.search(rf'<pre class="{css_class}">(.*?)</pre>', page, re.S).group(1))


# -- index -------------------------------------------------------------------------------------
def test_index_lists_templates_editions_segments_and_locales(demo):
    response = demo.get("/preview", params={"from": "2026-11-20"})
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert "Weekly newsletter" in page and "Monthly advice digest" in page
    for segment in ("vip", "new-subscribers", "everyone"):
        assert "<th title=" in page and f">{segment}</th>" in page
    # The next 8 Mondays from the start date, each linked per segment and locale.
    for day in ("2026-11-23", "2026-11-30", "2027-01-11"):
        assert f'href="/preview/weekly/{day}/vip/de"' in page
        assert f'href="/preview/weekly/{day}/everyone/en"' in page
    assert "2027-01-18" not in page  # the ninth
    assert 'href="/preview/monthly/2026-12-01/vip/de"' in page


def test_index_marks_variants_that_would_not_be_sent(tmp_path):
    # Without the fallback, the hero slot stays empty for everyone: nothing is sent.
    root = write_tree(tmp_path, {"blocks/brand/hero.mjml": """\
        ---
        title: Hero
        slot: hero
        expire: 2026-11-01
        ---
        <mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section>
        """, "templates/weekly/template.yaml": """\
        name: Weekly
        list_id: weekly.shop.example
        sender: {name: Shop, email: news@shop.example}
        subject: {de: "Hallo", en: "Hello"}
        first_name_fallback: {de: Kundin, en: there}
        schedule: {cadence: weekly, weekday: monday}
        slots:
          hero: {teams: [brand], max: 1, required: true}
          products: {teams: [news], max: 2}
        """})
    client = client_for(root)
    page = client.get("/preview", params={"from": "2026-11-23"}).text
    assert 'class="skipped" title="not sent: required slot hero is empty"' in page
    page = client.get("/preview/weekly/2026-11-23/vip/de").text
    assert "<strong>Not sent:</strong> required slot hero is empty" in page
    assert "brand/hero: expired (2026-11-01)" in pre(page, "trace")


def test_index_rejects_a_bad_start_date(demo):
    response = demo.get("/preview", params={"from": "23.11.2026"})
    assert response.status_code == 400
    assert "is not a date like 2026-11-23" in html.unescape(response.text)


# -- variant page ------------------------------------------------------------------------------
def test_variant_page_shows_the_email_sandboxed_beside_trace_and_text(demo):
    response = demo.get("/preview/weekly/2026-11-23/vip/de")
    assert response.status_code == 200
    page = response.text
    iframe = re.search(r"<iframe[^>]*>", page).group(0)
    assert re.search(r'\ssandbox=""', iframe)
    assert "allow-same-origin" not in iframe and "allow-scripts" not in iframe
    assert "<script" not in page.lower()
    csp = response.headers["content-security-policy"]
    for directive in ("default-src 'none'", "img-src https: data:", "style-src 'unsafe-inline'",
                      "form-action 'self'", "base-uri 'none'"):
        assert directive in csp
    assert "script-src" not in csp and "'unsafe-eval'" not in csp
    # The demo's experiment shows its original (arm a) unless the URL names another arm.
    assert "variant vip/de [advice/heating-costs=a] of weekly 2026-11-23" in pre(page, "trace")
    assert "Ihre Woche bei Nordhaus, Alex" in html.unescape(page)  # the subject, sample name
    assert "Hallo Alex" in srcdoc(page)


def test_page_shows_exactly_what_the_renderer_sends(demo):
    params = {"name": "Zoë", "exclude": "outdoor"}
    page = demo.get("/preview/weekly/2026-11-23/everyone/en", params=params).text
    content = load_content(CONTENT)
    edition = Edition(content, content.templates["weekly"], date(2026, 11, 23))
    assembly = edition.assemble(content.audience.segment("everyone"), "en", ["outdoor"], arms={})  # arm a
    renderer = Renderer(LinkSigner(Settings().link_keys), Settings().base_url, Settings().unsubscribe_mailto)
    variant = renderer.variant(edition, assembly)
    recipient = Recipient(public_id=preview_pages.SAMPLE.public_id, email=preview_pages.SAMPLE.email,
                          first_name="Zoë", locale="en")
    assert srcdoc(page) == renderer.html(edition, variant, recipient)
    assert pre(page, "text") == renderer.text(edition, variant, recipient).replace("\r\n", "\n")
    assert pre(page, "trace") == "\n".join(assembly.trace())
    email = demo.get("/preview/weekly/2026-11-23/everyone/en/email.html", params=params)
    assert email.text == renderer.html(edition, variant, recipient)


def test_a_hostile_name_arrives_escaped_everywhere(demo):
    for path in ("/preview/weekly/2026-11-23/vip/de", "/preview/weekly/2026-11-23/vip/de/email.html"):
        response = demo.get(path, params={"name": XSS})
        assert response.status_code == 200
        assert "<img src=x onerror" not in response.text
        assert "&lt;img src=x onerror=alert(1)&gt;" in response.text
    page = demo.get("/preview/weekly/2026-11-23/vip/de", params={"name": XSS}).text
    # Inside the iframe the HTML part holds the name escaped once, as the recipient gets it.
    assert "Hallo &lt;img src=x onerror=alert(1)&gt;" in srcdoc(page)
    assert f"Hallo {XSS}" in pre(page, "text")  # the text part is text: shown, not parsed


def test_email_alone_is_served_under_a_sandboxing_csp(demo):
    response = demo.get("/preview/weekly/2026-11-23/vip/en/email.html")
    assert response.status_code == 200
    assert response.text.startswith("<!doctype html>")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "img-src https: data:" in csp


def test_drafts_are_hidden_unless_asked_for_and_then_badged(tiny):
    client, _ = tiny
    page = client.get("/preview/weekly/2026-11-23/everyone/de").text
    assert "Sledges are coming" not in srcdoc(page)
    assert '<span class="badge draft">DRAFT</span>' not in page
    assert "1 draft block not shown (news/sledges)" in page
    page = client.get("/preview/weekly/2026-11-23/everyone/de", params={"drafts": "1"}).text
    assert "Sledges are coming" in srcdoc(page)
    assert '<span class="badge draft">DRAFT</span> <strong>Sledges (draft)</strong>' in page


def test_exclusions_and_an_empty_name(tiny):
    client, _ = tiny
    page = client.get("/preview/weekly/2026-11-23/vip/en", params={"exclude": "outdoor,kitchen", "name": ""}).text
    assert "news/jackets: excluded product group outdoor" in pre(page, "trace")
    assert "Hallo there" in srcdoc(page)  # the template's fallback for en
    assert "Hello there" in html.unescape(page)  # subject


def test_a_variant_over_gmails_limit_is_flagged(tmp_path):
    big = "Lorem ipsum dolor sit amet. " * 4000
    root = write_tree(tmp_path, {"blocks/news/long.mjml": f"""\
        ---
        title: Long
        slot: products
        ---
        <mj-section><mj-column><mj-text>{big}</mj-text></mj-column></mj-section>
        """})
    page = client_for(root).get("/preview/weekly/2026-11-23/everyone/de").text
    assert "Too long for Gmail" in page and "OVER 102 KB" in page
    assert "The unsubscribe link is clipped" in page


@pytest.mark.parametrize("path, status, words", [
    ("/preview/daily/2026-11-23/vip/de", 404, "no template 'daily'"),
    ("/preview/weekly/2026-11-23/gold/de", 404, "no segment 'gold'"),
    ("/preview/weekly/2026-11-23/vip/fr", 404, "no locale 'fr'"),
    ("/preview/weekly/2026-11-24/vip/de", 404, "no edition on 2026-11-24"),
    ("/preview/weekly/2026-11-24/vip/de/email.html", 404, "no edition on 2026-11-24"),
    ("/preview/weekly/2026-13-01/vip/de", 400, "not a date"),
    ("/preview/weekly/20261123/vip/de", 400, "not a date"),
    ("/preview/weekly/yesterday/vip/de/email.html", 400, "not a date"),
    ("/preview/weekly/2026-11-23/vip/de?exclude=outdoor,toys", 400, "Unknown product group(s): toys"),
])
def test_bad_addresses_get_a_friendly_page(tiny, path, status, words):
    client, _ = tiny
    response = client.get(path)
    assert response.status_code == status
    assert words in html.unescape(response.text)
    assert "Traceback" not in response.text and "Back to the preview index" in response.text


def test_far_future_dates_do_not_overflow(demo):
    assert demo.get("/preview/weekly/9999-12-27/vip/de").status_code == 200
    assert demo.get("/preview", params={"from": "9999-12-01"}).status_code == 200


# -- live content ------------------------------------------------------------------------------
def test_an_edited_block_shows_on_the_next_request(tmp_path, monkeypatch):
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    checks = []
    real_check = preview_pages.check_content
    monkeypatch.setattr(preview_pages, "check_content", lambda *a, **k: checks.append(1) or real_check(*a, **k))
    client = client_for(root)
    url = "/preview/weekly/2026-11-23/vip/de"
    assert "unsere neuen Winterjacken" in srcdoc(client.get(url).text)
    client.get(url)
    assert len(checks) == 1  # unchanged files: checked once
    block = root / "blocks/product-news/winter-jackets.de.mjml"
    block.write_text(block.read_text(encoding="utf-8").replace("unsere neuen Winterjacken", "frisch editiert:"),
                     encoding="utf-8")
    page = client.get(url).text
    assert "frisch editiert:" in srcdoc(page) and "unsere neuen Winterjacken" not in srcdoc(page)
    assert len(checks) == 2


def test_a_mistake_saved_while_browsing_shows_as_the_problem_list(tiny):
    client, root = tiny
    assert client.get("/preview/weekly/2026-11-23/vip/de").status_code == 200
    jackets = root / "blocks/news/jackets.mjml"
    jackets.write_text(jackets.read_text().replace("slot: products", "slot: nowhere"))
    response = client.get("/preview/weekly/2026-11-23/vip/de")
    assert response.status_code == 200
    assert "unknown slot" in html.unescape(response.text) and 'class="banner bad"' in response.text
