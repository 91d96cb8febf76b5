"""Rendering the demo edition: every header and both parts parsed back, links, escaping, sizes."""

from __future__ import annotations

import email
import email.policy
import random
import re
from datetime import date, datetime, timezone

import pytest

import service.assembly.render as render_module
from content_tree import write_tree
from preferences.errors import BadLink
from preferences.links import LinkSigner, Purpose
from repo_paths import CONTENT
from service.assembly.edition import Edition
from service.assembly.mime import message_id
from service.assembly.recipient import Recipient
from service.assembly.render import GMAIL_CLIP_BYTES, LONGEST_HTML, Renderer, date_header
from service.content.check import load_content

DAY = date(2026, 11, 23)
BASE_URL = "https://news.example.com"
MAILTO = "unsubscribe@nordhaus.example"
DATE = date_header(datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc))
SIGNER = LinkSigner([b"test-link-key-0123456789abcdef", b"an-older-key-still-verifying"])
SUBJECTS = {"de": "Ihre Woche bei Nordhaus, {}", "en": "Hi {}, here's your week at Nordhaus"}
FALLBACK = {"de": "liebe Kundin, lieber Kunde", "en": "there"}
ACTIVE = {"lifecycle": "customer", "last_order": "2026-11-01", "orders_12m": 3}


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


@pytest.fixture(scope="module")
def edition(content):
    return Edition(content, content.templates["weekly"], DAY)


@pytest.fixture(scope="module")
def renderer():
    return Renderer(SIGNER, BASE_URL, MAILTO)


def public_id(n: int) -> str:
    return f"pub{n:019d}"


def person(name: str | None = "Anna", locale: str = "de", n: int = 1, attributes=ACTIVE, excluded=(),
           address: str | None = None) -> Recipient:
    return Recipient(public_id=public_id(n), email=address or f"customer{n}@example.com", first_name=name,
                     locale=locale, attributes=attributes, excluded_groups=frozenset(excluded))


def variant_of(edition: Edition, renderer: Renderer, recipient: Recipient):
    segment = edition.segment_for(recipient.attributes, recipient.locale)
    assembly = edition.assemble(segment, recipient.locale, recipient.excluded_groups)
    assert assembly.skip_reason is None
    return renderer.variant(edition, assembly)


def send(edition: Edition, renderer: Renderer, recipient: Recipient, when: str = DATE):
    """(variant, raw bytes, parsed message) as the send would produce them."""
    variant = variant_of(edition, renderer, recipient)
    data = renderer.message(edition, variant, recipient, when)
    return variant, data, email.message_from_bytes(data, policy=email.policy.default)


def assert_wire_format(data: bytes) -> None:
    assert data.isascii()
    without_crlf = data.replace(b"\r\n", b"")
    assert b"\n" not in without_crlf and b"\r" not in without_crlf  # no bare LF or CR
    assert data.endswith(b"\r\n")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


LIST_NAMES = {"de": "Wöchentlicher Newsletter", "en": "Weekly newsletter"}


def token_in(url: str, purpose: str) -> str:
    """The token of a personal link, which names the edition it was sent in."""
    match = re.fullmatch(re.escape(BASE_URL) + f"/{purpose}/" + r"([A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22})"
                         + re.escape("?edition=weekly/2026-11-23"), url)
    assert match, url
    return match.group(1)


def assert_rfc8058(message, recipient: Recipient) -> None:
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.fullmatch(r"<([^>]+)>, <([^>]+)>", str(message["List-Unsubscribe"])).groups()
    assert SIGNER.verify(token_in(https, "unsubscribe"), "unsubscribe") == recipient.public_id
    assert mailto.startswith(f"mailto:{MAILTO}?subject=")
    assert mailto.endswith(f"=unsubscribe%20{token_in(https, 'unsubscribe')}%20weekly%2F2026-11-23")
    # The list's name in the recipient's language (template.yaml: name: {de: ..., en: ...}).
    assert message["List-Id"] == f"{LIST_NAMES.get(recipient.locale, LIST_NAMES['de'])} <weekly.nordhaus.example>"


NAMES = ["Jürgen Groß", "Zoë", "王小明", 'O"Brien, Jr.', "Anna", "Ørjan", None]


@pytest.mark.parametrize("locale", ["de", "en"])
@pytest.mark.parametrize("name", NAMES)
def test_every_header_and_both_parts_parse_back(edition, renderer, name, locale):
    recipient = person(name, locale, address="kunde.name+news@example.com")
    variant, data, message = send(edition, renderer, recipient)
    assert_wire_format(data)
    assert message.defects == []
    assert str(message["From"]) == "Nordhaus <newsletter@nordhaus.example>"
    assert str(message["Reply-To"]) == "service@nordhaus.example"
    (to,) = message["To"].addresses
    assert (to.display_name, to.addr_spec) == (name or "", "kunde.name+news@example.com")
    assert str(message["Subject"]) == SUBJECTS[locale].format(name or FALLBACK[locale])
    assert message["Date"] == DATE
    assert message["Date"].datetime == datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
    assert message["Message-ID"] == message_id("weekly/2026-11-23", recipient.public_id, "weekly.nordhaus.example")
    assert_rfc8058(message, recipient)
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.iter_parts()
    assert (plain.get_content_type(), rich.get_content_type()) == ("text/plain", "text/html")
    for part in (plain, rich):
        assert part.get_content_charset() == "utf-8" and part.defects == []
    assert rich.get_payload(decode=True) == renderer.html(edition, variant, recipient).encode()
    assert plain.get_payload(decode=True) == renderer.text(edition, variant, recipient).encode()
    assert variant.key.locale == locale and variant.key.segment == "active-customers"
    headers = [key.lower() for key in message.keys()]
    assert len(headers) == len(set(headers))


@pytest.mark.parametrize("name, in_html", [
    ("Jürgen Groß", "J&#252;rgen Gro&#223;"), ('O"Brien, Jr.', "O&quot;Brien, Jr."), ("Tom & Jerry", "Tom &amp; Jerry"),
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"), ("'single'", "&#x27;single&#x27;"),
])
def test_the_name_is_escaped_in_the_html_part_only(edition, renderer, name, in_html):
    recipient = person(name)
    _, data, message = send(edition, renderer, recipient)
    plain, rich = message.iter_parts()
    html, text = rich.get_content(), plain.get_content()
    assert f"Hallo {in_html}," in html  # the hero block greets by name
    if in_html != name:
        assert name not in html
    assert name in text  # plain text is not HTML: the name as written
    assert str(message["Subject"]) == SUBJECTS["de"].format(name)


def test_a_script_in_the_name_never_reaches_the_html(edition, renderer):
    _, data, message = send(edition, renderer, person("<img src=x onerror=alert(1)>"))
    html = message.get_body(("html",)).get_content()
    assert "<img src=x" not in html and "onerror=alert(1)>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_line_break_in_the_name_creates_no_header(edition, renderer):
    recipient = person("Eve\r\nBcc: x@evil.example")
    _, data, message = send(edition, renderer, recipient)
    assert_wire_format(data)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"(?im)^bcc:", head)
    assert "Bcc" not in message and "bcc" not in [k.lower() for k in message.keys()]
    assert str(message["Subject"]) == SUBJECTS["de"].format("EveBcc: x@evil.example")
    assert "EveBcc: x@evil.example" in message.get_body(("html",)).get_content()


def test_a_line_break_in_the_name_leaves_a_readable_to_header(edition, renderer):
    _, _, message = send(edition, renderer, person("Eve\r\nBcc: x@evil.example"))
    (to,) = message["To"].addresses  # ValueError: address parts cannot contain CR or LF
    assert to.display_name == "EveBcc: x@evil.example" and to.addr_spec == "customer1@example.com"


@pytest.mark.parametrize("address", ["two words@example.com", "no-at-sign.example.com",
                                     "a@example.com\r\nBcc: x@evil.example", "a@example.com>, b@evil.example",
                                     '"quoted"@example.com', "a@example.com;b@example.com"])
def test_an_unusable_address_is_refused(edition, renderer, address):
    recipient = person(address=address)
    with pytest.raises(ValueError):
        renderer.message(edition, variant_of(edition, renderer, recipient), recipient, DATE)


@pytest.mark.parametrize("address", ["jürgen@example.com", "kunde@bücher.example"])
def test_a_non_ascii_address_is_sent_in_ascii_or_refused_clearly(edition, renderer, address):
    recipient = person(address=address)
    variant = variant_of(edition, renderer, recipient)
    try:
        data = renderer.message(edition, variant, recipient, DATE)
    except ValueError as exc:
        assert "unusable email address" in str(exc)
    else:
        assert_wire_format(data)


def test_the_links_in_the_message_verify_to_the_customer(edition, renderer):
    recipient = person("Anna", n=42)
    variant, _, message = send(edition, renderer, recipient)
    html = message.get_body(("html",)).get_content()
    unsubscribe = set(re.findall(re.escape(BASE_URL) + r"/unsubscribe/[^\"'\s<]+", html))
    preferences = set(re.findall(re.escape(BASE_URL) + r"/preferences/[^\"'\s<]+", html))
    view = set(re.findall(re.escape(BASE_URL) + r"/view/[^\"'\s<]+", html))
    assert len(unsubscribe) == len(preferences) == len(view) == 1
    token = token_in(unsubscribe.pop(), "unsubscribe")
    assert SIGNER.verify(token, "unsubscribe") == recipient.public_id
    assert SIGNER.verify(token, Purpose.UNSUBSCRIBE) == recipient.public_id
    with pytest.raises(BadLink):
        SIGNER.verify(token, "preferences")  # a token is good for its own purpose only
    assert SIGNER.verify(token_in(preferences.pop(), "preferences"), "preferences") == recipient.public_id
    view_url = view.pop()
    assert view_url.startswith(f"{BASE_URL}/view/weekly/2026-11-23/")
    assert SIGNER.verify(view_url.rsplit("/", 1)[1], Purpose.VIEW, "weekly/2026-11-23") == recipient.public_id
    # The same unsubscribe link is in the header and in the text part.
    assert f"{BASE_URL}/unsubscribe/{token}" in str(message["List-Unsubscribe"])
    assert f"{BASE_URL}/unsubscribe/{token}" in message.get_body(("plain",)).get_content()


def test_the_same_recipient_twice_gives_the_same_bytes(edition, renderer, content):
    recipient = person("Zoë", "en", excluded={"outdoor"})
    _, first, _ = send(edition, renderer, recipient)
    _, again, _ = send(edition, renderer, recipient)
    assert first == again
    # A fresh renderer (a new send process) produces the same bytes too.
    fresh_edition = Edition(content, content.templates["weekly"], DAY)
    _, fresh, _ = send(fresh_edition, Renderer(SIGNER, BASE_URL, MAILTO), recipient)
    assert fresh == first
    # Only the Date header depends on when.
    _, later, _ = send(edition, renderer, recipient, "Mon, 23 Nov 2026 07:30:00 +0000")
    assert later.replace(b"Mon, 23 Nov 2026 07:30:00 +0000", DATE.encode()) == first


def test_message_id_is_per_edition_and_customer(content, edition, renderer):
    ids = {n: send(edition, renderer, person(n=n))[2]["Message-ID"] for n in range(5)}
    assert len(set(ids.values())) == 5
    # The same customer in another variant of the same edition: the same Message-ID.
    assert send(edition, renderer, person(locale="en", n=0))[2]["Message-ID"] == ids[0]
    assert send(edition, renderer, person(n=0, excluded={"garden"}))[2]["Message-ID"] == ids[0]
    later = Edition(content, content.templates["weekly"], date(2026, 11, 30))
    assert send(later, renderer, person(n=0))[2]["Message-ID"] != ids[0]
    for value in ids.values():
        assert re.fullmatch(r"<weekly\.2026-11-23\.[0-9a-f]{32}@weekly\.nordhaus\.example>", value)


def random_recipients(content, count: int, seed: int = 7) -> list[Recipient]:
    rng = random.Random(seed)
    groups = ["kitchen", "outdoor", "pets"]  # a few, so the variants stay few and the test fast
    names = ["Jürgen Groß", "Zoë", "王小明", 'O"Brien, Jr.', "Anna", "Søren", "Ава", None, "<b>Bo</b>"]
    recipients = []
    for n in range(count):
        attributes = {
            "region": rng.choice(["north", "south", "east", "west"]),
            "lifecycle": rng.choice(["subscriber", "first-buyer", "customer", "advocate"]),
            "purchasing_power": rng.randint(1, 5),
            "loyalty_member": rng.random() < 0.4,
            "orders_12m": rng.randint(0, 12),
        }
        if rng.random() < 0.8:
            attributes["last_order"] = date.fromordinal(DAY.toordinal() - rng.randint(0, 400)).isoformat()
        recipients.append(Recipient(
            public_id=public_id(n), email=f"c{n}@example.com", first_name=rng.choice(names),
            locale=rng.choice(["de", "en", "fr"]), attributes=attributes,
            excluded_groups=frozenset(rng.sample(groups, rng.choice((0, 0, 1, 2))))))
    return recipients


def test_rfc8058_headers_on_every_message_of_many_recipients(content, edition, monkeypatch):
    compiled = []
    real = render_module.compile_mjml
    monkeypatch.setattr(render_module, "compile_mjml", lambda *args: compiled.append(1) or real(*args))
    renderer = Renderer(SIGNER, BASE_URL, MAILTO)
    recipients = random_recipients(content, 400)
    segments, locales, keys, bodies, message_ids = set(), set(), set(), set(), set()
    for recipient in recipients:
        variant, data, message = send(edition, renderer, recipient)
        assert_wire_format(data)
        assert message.defects == []
        assert_rfc8058(message, recipient)
        assert message["To"].addresses[0].addr_spec == recipient.email
        assert message.get_body(("html",)).get_payload(decode=True) == \
            renderer.html(edition, variant, recipient).encode()
        segments.add(variant.key.segment)
        locales.add(variant.key.locale)
        keys.add(variant.key)
        bodies.add(variant.assembly.body_key)
        message_ids.add(message["Message-ID"])
    assert segments == {s.id for s in content.audience.segments}
    assert locales == {"de", "en"}
    assert len(message_ids) == len(recipients)
    # MJML is compiled once per distinct body (variants whose exclusions changed nothing
    # share one), never per recipient.
    assert len(compiled) == len(bodies) <= len(keys) < len(recipients)


def test_variants_are_cached_per_content_version_and_key(content, edition, renderer):
    recipient = person()
    variant = variant_of(edition, renderer, recipient)
    assert variant_of(edition, renderer, recipient) is variant
    assert variant_of(Edition(content, content.templates["weekly"], DAY), renderer, recipient) is variant
    assert variant_of(edition, renderer, person(locale="en")) is not variant


# -- sizes -----------------------------------------------------------------------------------------

def longest_recipient(n: int = 9) -> Recipient:
    # Each value at what LONGEST_HTML allows once escaped: 100 characters past U+F423F become
    # "&#1114109;" each, 1,000 bytes.
    return person("\U0010FFFD" * 100, n=n, address="a" * 64 + "@" + "b" * 63 + "." + "c" * 60 + ".example")


def all_variants(content, edition, renderer):
    for segment in content.audience.segments:
        for locale in content.audience.locales:
            for excluded in [(), tuple(sorted(content.product_groups))[:2]]:
                yield renderer.variant(edition, edition.assemble(segment, locale, excluded))


def test_longest_html_bounds_every_rendered_html(content, edition, renderer):
    for variant in all_variants(content, edition, renderer):
        longest = variant.longest_html()
        literal = len("".join(variant.html.literals).encode())
        assert longest == literal + sum(LONGEST_HTML[f] for f in variant.html.fields)
        assert 10_000 < longest < GMAIL_CLIP_BYTES  # the demo is well under Gmail's clipping point
        for recipient in (person(), longest_recipient()):
            assert len(renderer.html(edition, variant, recipient).encode()) <= longest


def test_unsubscribe_offset_is_a_worst_case_before_the_end(content, edition, renderer):
    for variant in all_variants(content, edition, renderer):
        offset = variant.unsubscribe_offset()
        assert offset is not None and 0 < offset < variant.longest_html()
        for recipient in (person(), longest_recipient()):
            values = renderer.values(variant, "x", recipient)
            html = variant.html.fill(values, render_module._escape_html).encode()
            actual = html.index(values["links.unsubscribe"].encode())
            assert actual <= offset
        # Every field before the first unsubscribe link counts at its longest.
        index = variant.html.fields.index("links.unsubscribe")
        expected = sum(len(x.encode()) for x in variant.html.literals[:index + 1]) + \
            sum(LONGEST_HTML[f] for f in variant.html.fields[:index])
        assert offset == expected


def test_no_unsubscribe_link_has_no_offset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    layout = """\
        <mjml>
          <mj-body>
            {{ slot("hero") }}
            {{ slot("products") }}
            <mj-section><mj-column><mj-text>{{ recipient.email }}</mj-text></mj-column></mj-section>
          </mj-body>
        </mjml>
        """
    tiny = load_content(write_tree(tmp_path, {"templates/weekly/layout.mjml": layout}))
    tiny_edition = Edition(tiny, tiny.templates["weekly"], DAY)
    renderer = Renderer(SIGNER, BASE_URL, MAILTO)
    variant = renderer.variant(tiny_edition, tiny_edition.assemble(tiny.audience.segment("everyone"), "de"))
    assert variant.unsubscribe_offset() is None
    # The subject ("Hallo {{ recipient.first_name }}") is the title, and MJML's article label.
    assert variant.html.fields == ("recipient.first_name",) * 3 + ("recipient.email",)
    assert variant.longest_html() == len("".join(variant.html.literals).encode()) + 3 * 1000 + 254 * 6


FROM_LINE = re.compile(rb"(?:^|\n)>*From ")


@pytest.mark.parametrize("name", ["Anna", "From Mars", "Mars From Venus", "x" * 99 + " From", None,
                                  "\U0010FFFD" * 100])
def test_a_message_said_to_have_no_from_line_has_none(content, edition, renderer, name):
    # The spool skips its search for mbox "From " lines when the renderer says there are none.
    for variant in all_variants(content, edition, renderer):
        recipient = person(name)
        data = renderer.message(edition, variant, recipient, DATE)
        if not renderer.may_hold_from_line(edition, variant, recipient):
            assert not FROM_LINE.search(data)
        assert renderer.may_hold_from_line(edition, variant, recipient) == (
            variant.mime.from_lines or "From " in (name or ""))
