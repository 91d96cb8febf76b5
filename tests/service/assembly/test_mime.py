"""MIME from pre-encoded parts: encodings, headers, and any body parsed back exactly."""

from __future__ import annotations

import binascii
import email
import email.header
import email.policy
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.assembly.mime import MessageTemplate, encode_words, mailbox, message_id, qp
from service.assembly.personal import Substitution
from service.content.markup.fields import FIELD_NAMES, placeholder

ASCII_NAMES = ["Bob", "Mary Ann", "O'Neil", "Anne-Marie", "x_y+z"]
QUOTED_NAMES = ['O"Brien, Jr.', "Smith, John", "Dr. Who", "back\\slash", "(comment)", "a;b", "<Bob>", "a@b"]
ENCODED_NAMES = ["Jürgen Groß", "Zoë", "王小明", "Zoë \"Z\", Jr.", "🙂", "<img src=x onerror=alert(1)>ü",
                 "ÄÖÜäöüß" * 3]  # the last one is 42 bytes: one encoded word
LONG_NAME = ("Ørjan Ødegård " * 8).strip()  # 124 bytes of UTF-8: several encoded words


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def header_of(name: str, value: str):
    """A header value as a mail program reads it (policy default)."""
    return parse(f"{name}: {value}\r\n\r\n".encode("ascii"))[name]


def assert_wire_format(data: bytes) -> None:
    """CRLF only, every line at most 998 octets, 7-bit clean."""
    assert data.isascii()
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    assert data.endswith(b"\r\n")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


# -- quoted-printable ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "plain", "Grüße = 100 %\n", "a" * 5000, "trailing space \nnext\t\n",
                                  ".\nFrom here\n", "x\n" * 3 + "ü" * 400])
def test_qp_has_short_crlf_lines_and_decodes_back(text):
    encoded = qp(text)
    assert encoded.isascii()
    lines = encoded.split(b"\r\n")
    assert all(len(line) <= 76 for line in lines)
    assert b"\n" not in encoded.replace(b"\r\n", b"")
    assert binascii.a2b_qp(encoded).replace(b"\r\n", b"\n") == text.encode()


# -- header encoding -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Hello", "Ihre Woche bei Nordhaus, Jürgen Groß", "王小明的每周通讯",
                                  "Zoë " * 40, "🙂 emoji", "mixed ASCII and ü " * 10])
def test_encode_words_decodes_to_the_same_text(text):
    encoded = encode_words(text)
    assert encoded.isascii()
    if text.isascii():
        assert encoded == text
    for line in encoded.split("\r\n"):
        assert len(line) <= 76
    for word in re.findall(r"=\?[^?]+\?[bB]\?[^?]*\?=", encoded):
        assert len(word) <= 75  # RFC 2047: an encoded word is at most 75 characters
    assert str(header_of("Subject", encoded)) == text


@pytest.mark.parametrize("name", ASCII_NAMES + QUOTED_NAMES + ENCODED_NAMES)
def test_mailbox_parses_back_to_the_name_and_address(name):
    value = mailbox(name, "someone@example.com")
    assert value.isascii()
    (address,) = header_of("To", value).addresses
    assert address.display_name == name
    assert address.addr_spec == "someone@example.com"


def test_a_long_name_is_split_into_encoded_words_that_join_back():
    value = mailbox(LONG_NAME, "someone@example.com")
    phrase, address = value.rsplit(" <", 1)
    assert address == "someone@example.com>"
    words = phrase.split("\r\n ")
    assert len(words) > 1 and all(len(word) <= 75 for word in words)
    # RFC 2047 6.2: whitespace between adjacent encoded words is ignored. Python's address parser
    # (3.11) keeps it, so the name is decoded the RFC way here; its unstructured parser agrees.
    assert str(email.header.make_header(email.header.decode_header(phrase))) == LONG_NAME
    assert str(header_of("Subject", phrase)) == LONG_NAME
    assert header_of("To", value).addresses[0].addr_spec == "someone@example.com"


def test_mailbox_without_a_name_is_the_bare_address():
    assert mailbox(None, "a@example.com") == "a@example.com"
    assert mailbox("", "a@example.com") == "a@example.com"
    assert mailbox("Bob", "a@example.com") == "Bob <a@example.com>"


@pytest.mark.parametrize("header", ["Subject", "To"])
def test_a_name_that_looks_like_an_encoded_word_stays_literal(header):
    name = "=?utf-8?b?QmNjOiB4QGV2aWw=?="  # "Bcc: x@evil"
    if header == "Subject":
        assert str(header_of("Subject", encode_words(f"Hallo {name}"))) == f"Hallo {name}"
    else:
        assert header_of("To", mailbox(name, "a@example.com")).addresses[0].display_name == name


# -- Message-ID ----------------------------------------------------------------------------------

def test_message_id_is_deterministic_per_edition_and_customer():
    a = message_id("weekly/2026-11-23", "A" * 22, "weekly.shop.example")
    assert a == message_id("weekly/2026-11-23", "A" * 22, "weekly.shop.example")
    assert a != message_id("weekly/2026-11-23", "B" * 22, "weekly.shop.example")
    assert a != message_id("weekly/2026-11-30", "A" * 22, "weekly.shop.example")
    assert re.fullmatch(r"<weekly\.2026-11-23\.[0-9a-f]{32}@weekly\.shop\.example>", a)
    assert "A" * 22 not in a  # the customer's public id is not revealed
    assert header_of("Message-ID", a) == a


# -- whole messages ------------------------------------------------------------------------------

VALUES = {
    "recipient.first_name": "Zoë",
    "recipient.email": "zoe@example.com",
    "links.preferences": "https://n.example/preferences/tok1",
    "links.unsubscribe": "https://n.example/unsubscribe/tok2",
    "links.view_online": "https://n.example/view/weekly/2026-11-23/tok3",
}


# What the renderer passes for an HTML body that may go 7bit: each field's longest value.
LONGEST = dict.fromkeys(FIELD_NAMES, 300)


def template(html: str, text: str, subject: str = "Hallo " + placeholder("recipient.first_name"),
             reply_to: str | None = "service@shop.example", longest=None) -> MessageTemplate:
    return MessageTemplate(sender=mailbox("Shop Ü", "news@shop.example"), reply_to=reply_to,
                           list_name="Weekly newsletter", list_id="weekly.shop.example",
                           subject=Substitution.split(subject), text=Substitution.split(text),
                           html=Substitution.split(html), boundary_seed="seed", longest=longest)


def build(mime: MessageTemplate, values=VALUES, html_values=None) -> bytes:
    return mime.build(to=mailbox(values["recipient.first_name"], values["recipient.email"]),
                      date="Mon, 23 Nov 2026 06:00:00 +0000", message_id="<x.1@weekly.shop.example>",
                      unsubscribe_url=values["links.unsubscribe"],
                      unsubscribe_mailto="mailto:unsubscribe@shop.example?subject=unsubscribe",
                      text_values=values, html_values=html_values or values)


def test_a_message_has_every_header_and_both_parts():
    html = f"<p>Hallo {placeholder('recipient.first_name')}</p>\n<a href=\"{placeholder('links.unsubscribe')}\">x</a>\n"
    text = f"Hallo {placeholder('recipient.first_name')}\nAbmelden: {placeholder('links.unsubscribe')}\n"
    data = build(template(html, text))
    assert_wire_format(data)
    message = parse(data)
    assert message.defects == []
    assert str(message["From"]) == "Shop Ü <news@shop.example>"
    assert str(message["Reply-To"]) == "service@shop.example"
    assert str(message["To"]) == "Zoë <zoe@example.com>"
    assert str(message["Subject"]) == "Hallo Zoë"
    assert message["Date"].datetime.isoformat() == "2026-11-23T06:00:00+00:00"
    assert message["Message-ID"] == "<x.1@weekly.shop.example>"
    assert message["List-Id"] == "Weekly newsletter <weekly.shop.example>"
    assert message["List-Unsubscribe"] == ("<https://n.example/unsubscribe/tok2>, "
                                           "<mailto:unsubscribe@shop.example?subject=unsubscribe>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.iter_parts()
    assert (plain.get_content_type(), rich.get_content_type()) == ("text/plain", "text/html")
    for part in (plain, rich):
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part.defects == []
    assert plain.get_payload(decode=True) == "Hallo Zoë\r\nAbmelden: https://n.example/unsubscribe/tok2\r\n".encode()
    assert rich.get_payload(decode=True) == (
        '<p>Hallo Zoë</p>\r\n<a href="https://n.example/unsubscribe/tok2">x</a>\r\n').encode()
    # Every header exactly once.
    names = [name.lower() for name in message.keys()]
    assert sorted(names) == sorted({*names})


def test_without_reply_to_there_is_no_reply_to_header():
    assert "Reply-To" not in parse(build(template("<p>x</p>", "x", reply_to=None)))


def test_the_html_and_text_values_are_substituted_separately():
    html = f"<b>{placeholder('recipient.first_name')}</b>"
    escaped = {**VALUES, "recipient.first_name": "&lt;i&gt;"}
    plain, rich = parse(build(template(html, html), {**VALUES, "recipient.first_name": "<i>"}, escaped)).iter_parts()
    assert rich.get_payload(decode=True) == b"<b>&lt;i&gt;</b>"
    assert plain.get_payload(decode=True) == b"<b><i></b>"


# Text as the renderer produces it (LF line ends, no CR), with the awkward bits QP must handle.
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r")
_awkward = st.sampled_from(["=", " ", "\t", " \n", "\t\n", ".", "\n.\n", "From ", "--", "=_nl_", "ü", "€", "🙂",
                            "\n", "=\n", "=3D", "@@", "@@nl:", "\x00", "\x0b", "\u2028"])
_runs = st.builds(lambda char, n: char * n, st.sampled_from(["a", "ü", " ", "=", "-", "\t"]), st.integers(0, 2500))
_piece = st.lists(st.one_of(st.text(_chars, max_size=40), _awkward, _runs), max_size=8).map("".join)
_value = st.lists(st.one_of(st.text(_chars, max_size=30), _awkward, _runs), max_size=3).map("".join)


@st.composite
def bodies(draw):
    fields = draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=6))
    pieces = [draw(_piece) for _ in range(len(fields) + 1)]
    text = pieces[0] + "".join(placeholder(f) + p for f, p in zip(fields, pieces[1:]))
    return text, Substitution.split(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=bodies(), text=bodies(), values=st.fixed_dictionaries({name: _value for name in FIELD_NAMES}),
       longest=st.sampled_from([None, LONGEST, dict.fromkeys(FIELD_NAMES, 5)]))
def test_any_body_and_values_parse_back_byte_for_byte(html, text, values, longest):
    # Whichever encoding the HTML part takes (quoted-printable, 7bit, 7bit with this recipient
    # falling back): the mail program decodes the same bytes.
    (html_source, html_sub), (text_source, text_sub) = html, text
    if html_sub.fields != tuple(re.findall(r"@@nl:([a-z_]+\.[a-z_]+)@@", html_source)):
        return  # generated text that happens to spell a placeholder: not a case of interest
    mime = template(html_source, text_source, subject="Hi", longest=longest)
    data = mime.build(to="a@example.com", date="Mon, 23 Nov 2026 06:00:00 +0000",
                      message_id="<x.1@weekly.shop.example>", unsubscribe_url="https://n.example/u/t",
                      unsubscribe_mailto="mailto:u@shop.example", text_values=values, html_values=values)
    assert_wire_format(data)
    message = parse(data)
    plain, rich = message.iter_parts()
    assert rich.get_payload(decode=True) == html_sub.fill(values).replace("\n", "\r\n").encode()
    assert plain.get_payload(decode=True) == text_sub.fill(values).replace("\n", "\r\n").encode()


@given(st.from_regex(r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}", fullmatch=True))
def test_a_link_token_is_quoted_printable_as_it_is(token):
    # Why the renderer may pass the click token's field as "verbatim": encoding it changes nothing.
    assert qp(token) == token.encode("ascii")


# -- 7bit HTML -------------------------------------------------------------------------------------

def test_an_ascii_html_body_goes_7bit_as_it_is():
    html = f'<p>Hallo {placeholder("recipient.first_name")} &#252;</p>\n<a href="{placeholder("links.unsubscribe")}">x</a>\n'
    data = build(template(html, "Hallo\n", longest=LONGEST), html_values={**VALUES, "recipient.first_name": "Zo&#235;"})
    assert_wire_format(data)
    rich = parse(data).get_body(("html",))
    assert rich["Content-Transfer-Encoding"] == "7bit" and rich.defects == []
    assert rich.get_payload(decode=True) == (
        b'<p>Hallo Zo&#235; &#252;</p>\r\n<a href="https://n.example/unsubscribe/tok2">x</a>\r\n')
    assert b"=3D" not in data and b'href="https://n.example/unsubscribe/tok2"' in data  # not encoded


@pytest.mark.parametrize("html", ["<p>Zoë</p>", "<p>a\rb</p>", "<p>a\x00b</p>", "<p>" + "x" * 999 + "</p>"])
def test_a_body_that_is_not_7bit_data_stays_quoted_printable(html):
    mime = template(html, "t\n", longest=LONGEST)
    assert mime.html_7bit is None
    rich = parse(build(mime)).get_body(("html",))
    assert rich["Content-Transfer-Encoding"] == "quoted-printable"
    assert rich.get_payload(decode=True) == html.encode()


def test_a_recipient_whose_value_would_overflow_a_line_gets_quoted_printable():
    # 900 octets of line around the name: a name of up to 98 octets fits, a longer one does not.
    html = "<p>" + "x" * 450 + placeholder("recipient.first_name") + "y" * 443 + "</p>\n<p>end</p>\n"
    mime = template(html, "t\n", longest=LONGEST)
    assert mime.html_7bit is not None and mime.html_7bit.tight == ((998 - 900, ("recipient.first_name",)),)
    for name, encoding in (("a" * 98, "7bit"), ("a" * 99, "quoted-printable"), ("Zoë", "quoted-printable")):
        data = build(mime, html_values={**VALUES, "recipient.first_name": name})
        assert_wire_format(data)
        rich = parse(data).get_body(("html",))
        assert rich["Content-Transfer-Encoding"] == encoding
        assert rich.get_payload(decode=True) == html.replace(placeholder("recipient.first_name"), name).replace(
            "\n", "\r\n").encode()
