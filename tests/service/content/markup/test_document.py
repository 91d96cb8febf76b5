"""What every email's document carries whatever its layout says: lang, title, a hidden preheader."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import date

import pytest

from preferences.links import LinkSigner
from repo_paths import CONTENT
from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer, date_header
from service.content.check import load_content
from service.content.markup.document import dress, hide_preheader
from service.content.markup.mjml import compile_mjml

BODY = "<mj-body><mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section></mj-body>"


@pytest.mark.parametrize("document", [
    f"<mjml>{BODY}</mjml>",
    f'<mjml lang="en" owa="desktop"><mj-head><mj-preview>Pre</mj-preview></mj-head>{BODY}</mjml>',
    f"<mjml lang='xx'>\n  <mj-head>\n  </mj-head>{BODY}</mjml>",
])
def test_dress_sets_the_language_and_the_title(document):
    html = compile_mjml(dress(document, "de", "Hallo &amp; willkommen"))
    assert re.search(r'<html lang="de"', html) and 'lang="en"' not in html and "xx" not in html
    assert "<title>Hallo &amp; willkommen</title>" in html
    assert 'aria-label="Hallo &amp; willkommen"' in html  # the article MJML wraps the mail in


def test_the_preheader_is_hidden_from_eyes_outlook_and_screen_readers():
    html = compile_mjml(f"<mjml><mj-head><mj-preview>Sale starts</mj-preview></mj-head>{BODY}</mjml>")
    div = re.search(r"<div[^>]*>Sale starts</div>", html).group(0)
    assert 'aria-hidden="true"' in div and "display:none" in div and "mso-hide:all" in div
    assert hide_preheader("<p>no preview</p>") == "<p>no preview</p>"


@pytest.fixture(scope="module")
def edition():
    content = load_content(CONTENT)
    return Edition(content, content.templates["weekly"], date(2026, 11, 23))


@pytest.mark.parametrize("locale, subject", [("de", "Ihre Woche bei Nordhaus, Zoë &amp; &lt;Co&gt;"),
                                             ("en", "Hi Zoë &amp; &lt;Co&gt;, here&#39;s your week at Nordhaus")])
def test_each_mail_carries_its_recipients_language_and_subject_as_title(edition, locale, subject):
    renderer = Renderer(LinkSigner([b"test-link-key-0123456789abcdef"]), "https://news.example.com",
                        "unsubscribe@nordhaus.example")
    recipient = Recipient(public_id="pub0000000000000000001", email="zoe@example.com", first_name="Zoë & <Co>",
                          locale=locale, attributes={"lifecycle": "customer"}, excluded_groups=frozenset())
    segment = edition.segment_for(recipient.attributes, locale)
    variant = renderer.variant(edition, edition.assemble(segment, locale, ()))
    message = email.message_from_bytes(renderer.message(edition, variant, recipient, date_header()),
                                       policy=email.policy.default)
    html = message.get_body(("html",)).get_content()
    assert re.search(rf'<html lang="{locale}"', html)
    title = re.search(r"<title>(.*?)</title>", html).group(1)
    # ASCII like all of the HTML part (it goes 7bit): the ë as a character reference.
    assert title.replace("&#x27;", "&#39;") == subject.replace("&#x27;", "&#39;").replace("ë", "&#235;")
    assert message["Subject"] == subject.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&#39;", "'")
    icons = re.findall(r'<img alt="([^"]+)" src="([^"]+)"[^>]*width="24"', html)
    assert [alt for alt, _ in icons] == ["Instagram", "Facebook", "Pinterest"]
    assert {src.rsplit("/", 1)[0] for _, src in icons} == {"https://cdn.nordhaus.example/social"}
    for _, src in icons:  # the demo content ships the icons its asset host publishes
        assert (CONTENT / "assets" / "social" / src.rsplit("/", 1)[1]).is_file()
    assert "mailjet" not in html and "sharer" not in html
