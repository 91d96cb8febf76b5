"""Rendering: a variant compiled once (MJML, text part, MIME skeleton); a recipient substituted.

The per-recipient path is `Renderer.message`: signed links, escaped values, one join. Each web
link of a block and of the layout is tracked (``service.assembly.tracking``) when it compiles,
unless its block or template says ``tracking: false``; a customer who opted out of click measuring
gets the variant compiled untracked (``variant(..., tracked=False)``: once per variant and mode,
like the tracked one)."""

from __future__ import annotations

import html as htmllib
import re
from collections import OrderedDict
from urllib.parse import quote
from dataclasses import dataclass, replace
from email.utils import format_datetime
from datetime import datetime, timezone

from markupsafe import escape

from preferences.links import edition_query
from preferences.links import TOKEN_LENGTH, LinkSigner, Purpose

from service.assembly.ascii_html import fold, to_ascii
from service.assembly.compact import compact
from service.assembly.edition import Assembly, Edition, VariantKey
from service.assembly.mime import MessageTemplate, mailbox, message_id
from service.assembly.personal import Substitution
from service.assembly.plain_text import CUT_MJML, SectionText
from service.assembly.recipient import Recipient
from service.assembly.sent import SentBody
from service.assembly.tracking import LAYOUT, TOKEN_FIELD, LinkTracker, Target, edition_token_of
from service.content.markup.compose import render_block, render_layout, render_preheader, render_subject, variant_context
from service.content.markup.document import dress
from service.content.markup.mjml import compile_mjml

GMAIL_CLIP_BYTES = 102 * 1024
MAX_CACHED_VARIANTS = 512
# The longest value each personal field may have once escaped for HTML (import limits x escaping:
# a character of a name may become a reference as long as "&#1114111;", one of an address "&#x27;").
LONGEST_HTML = {"recipient.first_name": 100 * 10, "recipient.email": 254 * 6,
                "links.preferences": 300, "links.unsubscribe": 300, "links.view_online": 260,
                TOKEN_FIELD: TOKEN_LENGTH}
# What folding the HTML into lines allows for each field: a long but ordinary value (the mail goes
# quoted-printable for a recipient whose values do not fit after all).
LONGEST_TYPICAL = dict.fromkeys(LONGEST_HTML, 100) | {
    "links.preferences": 300, "links.unsubscribe": 300, "links.view_online": 260, TOKEN_FIELD: TOKEN_LENGTH}
_UNSAFE_ADDRESS = re.compile(r"[\s<>,;\"\\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class CompiledVariant:
    """One compiled variant: what every recipient of it shares."""

    key: VariantKey
    assembly: Assembly
    html: Substitution
    text: Substitution
    subject: Substitution
    mime: MessageTemplate
    links: tuple[Target, ...] = ()  # the tracked links, in the order they appear
    # What the personal links add to name the edition (the https links' query, the mailto's word).
    edition_query: str = ""
    edition_word: str = ""

    @property
    def edition_id(self) -> str:
        return f"{self.key.template}/{self.key.edition_date.isoformat()}"

    def longest_html(self) -> int:
        """Bytes of HTML with every personal field at its longest (Gmail clips at 102 KB)."""
        return len("".join(self.html.literals).encode("utf-8")) + sum(LONGEST_HTML[f] for f in self.html.fields)

    def unsubscribe_offset(self) -> int | None:
        """Worst-case byte offset of the first unsubscribe link, or None if there is none."""
        offset = 0
        for i, name in enumerate(self.html.fields):
            offset += len(self.html.literals[i].encode("utf-8"))
            if name == "links.unsubscribe":
                return offset
            offset += LONGEST_HTML[name]
        return None


class Renderer:
    """Compiles variants (cached per content version) and renders messages for recipients."""

    def __init__(self, signer: LinkSigner, base_url: str, unsubscribe_mailto: str, *, track: bool = True):
        self.signer, self.base_url, self.unsubscribe_mailto = signer, base_url.rstrip("/"), unsubscribe_mailto
        self.track = track  # False: the links as the editors wrote them (bench/render.py compares)
        # Most recently used last; bounded, since one compiled body holds about 100 KB of text.
        self._bodies: OrderedDict[tuple, CompiledVariant] = OrderedDict()
        self._variants: OrderedDict[tuple, CompiledVariant] = OrderedDict()  # small: they share bodies
        self.text_pieces = SectionText()  # the text parts' pieces: a block's section is converted once

    def variant(self, edition: Edition, assembly: Assembly, *, tracked: bool = True) -> CompiledVariant:
        """The compiled variant, from the cache when this content version compiled it before;
        ``tracked`` False: for a recipient who opted out of click measuring (no link tracked)."""
        version, mode = edition.content.version, self.track and tracked
        found = _lru_get(self._variants, (version, assembly.key, mode))
        if found is None:
            body = _lru_get(self._bodies, (version, assembly.body_key, mode))
            if body is None:
                body = _lru_put(self._bodies, (version, assembly.body_key, mode),
                                self._compile(edition, assembly, mode), MAX_CACHED_VARIANTS)
            found = _lru_put(self._variants, (version, assembly.key, mode),
                             replace(body, key=assembly.key, assembly=assembly), 8 * MAX_CACHED_VARIANTS)
        return found

    def for_recipient(self, edition: Edition, assembly: Assembly, recipient: Recipient) -> CompiledVariant:
        """The compiled variant as ``recipient`` gets it (untracked if they opted out)."""
        return self.variant(edition, assembly, tracked=recipient.click_tracking)

    def _compile(self, edition: Edition, assembly: Assembly, mode: bool) -> CompiledVariant:
        template, key = edition.template, assembly.key
        context = variant_context(template, key.edition_date, assembly.segment.id, assembly.segment.name, key.locale)
        context["preheader"] = escape(render_preheader(template, key.locale, context))
        tracker = LinkTracker(self.signer, self.base_url, f"{key.template}/{key.edition_date.isoformat()}",
                              template.utm)
        on = mode and template.tracking  # tracking: false in template.yaml tracks nothing
        # Each block between text cuts: the text part converts each distinct block once.
        bodies = {fill.slot.name: CUT_MJML + f"\n{CUT_MJML}\n".join(
                      tracker.track(render_block(b, context), b.id, b.team, on and b.tracking) for b in fill.chosen)
                  + CUT_MJML for fill in assembly.fills}
        # The layout's own links are tracked before the blocks go in: a block's untracked link is
        # never taken for the layout's.
        marks = {name: f"\x1eslot {name}\x1e" for name in bodies}
        layout = tracker.track(render_layout(template, {n: [m] for n, m in marks.items()}, context), LAYOUT,
                               tracked=on)
        for name, mark in marks.items():
            layout = layout.replace(mark, bodies[name], 1)
        subject = render_subject(template, key.locale, context)
        # The recipient's language and the subject as the title, whatever the layout says.
        html = compile_mjml(dress(layout, key.locale, escape(subject)), template.hosts.social_icons)
        html, text = self.text_pieces.of(html.replace("\r\n", "\n"))
        html = compact(html)
        # ASCII in short lines: the HTML part then goes 7bit, with nothing to encode per recipient.
        html = fold(to_ascii(html), LONGEST_TYPICAL)
        subject_sub = Substitution.split(subject)
        html_sub, text_sub = Substitution.split(html), Substitution.split(text)
        mime = MessageTemplate(
            sender=mailbox(template.sender_name, template.sender_email), reply_to=template.reply_to,
            list_name=template.name(key.locale), list_id=template.list_id, subject=subject_sub, text=text_sub,
            html=html_sub, boundary_seed=f"{edition.content.version}/{assembly.body_key}",
            verbatim=frozenset({TOKEN_FIELD}),  # a token: 45 characters of [A-Za-z0-9_.-]
            longest=LONGEST_HTML,
        )
        edition_id = f"{key.template}/{key.edition_date.isoformat()}"
        return CompiledVariant(key, assembly, html_sub, text_sub, subject_sub, mime, tuple(tracker.targets),
                               edition_query(edition_id), quote(edition_id, safe=""))

    # -- per recipient --------------------------------------------------------------------
    def values(self, variant: CompiledVariant | SentBody, template_fallback: str,
               recipient: Recipient) -> dict[str, str]:
        """The raw (unescaped) personal values of one recipient (of a variant, or of an archived
        body: both name their edition, which is all the values depend on besides the recipient)."""
        public_id = recipient.public_id
        sign, edition_id = self.signer.url, variant.edition_id
        edition_token = edition_token_of(self.signer, public_id, edition_id)
        from_here = variant.edition_query  # where a change made through the link came from
        return {
            # Control characters have no place in a name, and CR/LF none near a header.
            "recipient.first_name": _CONTROL.sub("", recipient.first_name or "") or template_fallback,
            "recipient.email": recipient.email,
            "links.preferences": sign(self.base_url, public_id, Purpose.PREFERENCES) + from_here,
            "links.unsubscribe": sign(self.base_url, public_id, Purpose.UNSUBSCRIBE) + from_here,
            # The web version is per edition: the token is bound to it, the path names it.
            "links.view_online": f"{self.base_url}{Purpose.VIEW.path}{edition_id}/{edition_token}",
            TOKEN_FIELD: edition_token,  # the recipient's part of every tracked link
        }

    def html(self, edition: Edition, variant: CompiledVariant, recipient: Recipient) -> str:
        """The HTML part exactly as the recipient's mail program decodes it (CRLF line ends)."""
        values = self.values(variant, self._fallback(edition, variant), recipient)
        return variant.html.fill(values, _escape_html).replace("\n", "\r\n")

    def sent_body(self, edition: Edition, variant: CompiledVariant) -> SentBody:
        """What every recipient of ``variant`` is sent but for their own values (the archive's unit)."""
        return SentBody(variant.edition_id, variant.key.locale, self._fallback(edition, variant), variant.subject,
                        variant.html, variant.text)

    def sent_html(self, body: SentBody, recipient: Recipient) -> str:
        """An archived body's HTML part for ``recipient``: the same bytes as ``html`` gave when the
        body was sent, for the same recipient values."""
        values = self.values(body, body.first_name_fallback, recipient)
        return body.html.fill(values, _escape_html).replace("\n", "\r\n")

    def text(self, edition: Edition, variant: CompiledVariant, recipient: Recipient) -> str:
        """The plain-text part as decoded (CRLF line ends)."""
        values = self.values(variant, self._fallback(edition, variant), recipient)
        return variant.text.fill(values).replace("\n", "\r\n")

    def subject(self, edition: Edition, variant: CompiledVariant, recipient: Recipient) -> str:
        """The decoded subject line the recipient sees."""
        return variant.subject.fill(self.values(variant, self._fallback(edition, variant), recipient))

    def message(self, edition: Edition, variant: CompiledVariant, recipient: Recipient, date_header: str,
                mid: str | None = None) -> bytes:
        """The complete MIME message for one recipient (``mid``: a Message-ID other than the
        edition's for this recipient, as a test send's)."""
        if _UNSAFE_ADDRESS.search(recipient.email) or "@" not in recipient.email or not recipient.email.isascii():
            raise ValueError(f"unusable email address {recipient.email!r}")
        values = self.values(variant, self._fallback(edition, variant), recipient)
        name = _CONTROL.sub("", recipient.first_name or "")
        escaped = {name: _escape_html(value) for name, value in values.items()}
        return variant.mime.build(
            to=mailbox(name, recipient.email), date=date_header,
            message_id=mid or message_id(variant.edition_id, recipient.public_id, edition.template.list_id),
            unsubscribe_url=values["links.unsubscribe"],
            unsubscribe_mailto=self.unsubscribe_mailto_of(values["links.unsubscribe"], variant.edition_word),
            text_values=values, html_values=escaped,
        )

    def may_hold_from_line(self, edition: Edition, variant: CompiledVariant, recipient: Recipient) -> bool:
        """Whether the recipient's message may have a line starting with "From " (an mbox spool
        quotes those; when this says no, it need not search the message): the variant's own
        pieces, or a name (the only free text among the values: addresses and links have no space)."""
        return (variant.mime.from_lines or "From " in (recipient.first_name or "")
                or "From " in self._fallback(edition, variant))

    def unsubscribe_mailto_of(self, unsubscribe_url: str, edition_word: str) -> str:
        """The List-Unsubscribe mailto: its subject is ``unsubscribe <token> <edition>`` (the
        edition percent-encoded, ``weekly%2F2026-11-23``)."""
        token = unsubscribe_url.split("?", 1)[0].rsplit("/", 1)[-1]
        return f"mailto:{self.unsubscribe_mailto}?subject=unsubscribe%20{token}%20{edition_word}"

    @staticmethod
    def _fallback(edition: Edition, variant: CompiledVariant) -> str:
        names = edition.template.first_name_fallback
        return names.get(variant.key.locale) or next(iter(names.values()), "")


def _lru_get(cache: OrderedDict, key: tuple):
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
    return found


def _lru_put(cache: OrderedDict, key: tuple, value, limit: int):
    cache[key] = value
    if len(cache) > limit:
        cache.popitem(last=False)
    return value


def date_header(moment: datetime | None = None) -> str:
    """An RFC 5322 Date header value (computed once per run, not per message)."""
    return format_datetime(moment or datetime.now(timezone.utc))


def _escape_html(value: str) -> str:
    # ASCII, like the rest of the compiled HTML (service.assembly.ascii_html).
    escaped = htmllib.escape(value, quote=True)
    return escaped if escaped.isascii() else escaped.encode("ascii", "xmlcharrefreplace").decode("ascii")
