"""Tracked links: each web link a block or the layout writes becomes ``/r/{target}/{token}``.

Compiled once per variant body: the target (edition, the block or ``layout`` that owns the link,
its team, the link's position in it, the URL) is sealed with the link keys into the link itself,
so the redirect needs no database to answer and can only ever lead where a sent email linked to.
The part after it is one personal field, ``links.click``: the recipient's public id signed for
the edition, the same for every link of the message. It is the token of the message's own "view
online" link: both are in the same message, bound to the same customer and edition, so whoever
holds one holds the other, and sharing it spares the send an HMAC a recipient (a tenth of its
substitution, bench/render.py).

Not tracked: the personal links (preferences, unsubscribe, view online: placeholders), anything
that is not an absolute http(s) URL (mailto:, tel:, anchors), and the href of an MJML share
button (``<mj-social-element name="facebook">`` without ``-noshare``): MJML puts it into the
network's share URL, and a tracked link there would publish the recipient's token.

Not tracked either, but otherwise treated alike: the links of a block or template with
``tracking: false``, and every link of a customer who opted out of click measuring (the renderer
compiles that variant a second time, untracked). The template's ``utm:`` parameters go on every
link considered here, tracked or not (they are for the shop's own analytics): the URL the redirect
leads to carries them."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from preferences.errors import BadLink
from preferences.links import LinkSigner, Purpose

from service.content.markup.fields import PLACEHOLDER, placeholder
from service.content.markup.utm import UTM_KEYS, fill

TOKEN_FIELD = "links.click"
LAYOUT = "layout"  # the owner of the layout's own links (logo, footer, social icons)
_SEPARATOR = "\x1f"  # cannot occur in an id, a team or a URL
# What a link's target text is deflated against when sealed (preferences.links: "~" bodies): the
# shape of a target and what web links and utm parameters usually hold. Links already sent are
# opened with it, so it never changes; another dictionary would need another mark.
TARGET_DICTIONARY = (
    b"monthly/welcome/weekly/202\x1flayout\x1f\x1f0\x1f1\x1f2\x1fhttp://.html/index/blog/news/product/"
    b"shop/offer/de/en/fr/nl/?id=&p=#https://www.?utm_source=newsletter&utm_medium=email&utm_content="
    b"&utm_term=&utm_campaign=weekly-202"
)
_TAG = re.compile(r"<[A-Za-z][^<>]*>")
_HREF = re.compile(r"""(\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
# MJML's networks whose element shares its href (their "-noshare" twins and the others link to it).
_SHARE_BUTTON = re.compile(r"""^<mj-social-element\b[^>]*\bname\s*=\s*["']"""
                           r"""(facebook|twitter|x|google|pinterest|linkedin|tumblr|xing)["']""", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """Where one tracked link leads, and whose link it is."""

    edition_id: str  # "weekly/2026-11-23"
    owner: str       # a block id, or LAYOUT
    team: str        # the owning team ("" for the layout)
    index: int       # 0 for the owner's first link, in the order they appear
    url: str

    def text(self) -> str:
        return _SEPARATOR.join((self.edition_id, self.owner, self.team, str(self.index), self.url))

    @classmethod
    def from_text(cls, text: str) -> "Target":
        parts = text.split(_SEPARATOR)
        if len(parts) != 5 or not parts[3].isdigit() or not parts[4].startswith(("https://", "http://")):
            raise BadLink("malformed")
        return cls(parts[0], parts[1], parts[2], int(parts[3]), parts[4])


def open_target(signer: LinkSigner, sealed: str) -> Target:
    """The target sealed in a tracked link's path; BadLink when it was not sealed by us."""
    return Target.from_text(signer.unseal(sealed, Purpose.CLICK, TARGET_DICTIONARY))


def edition_token_of(signer: LinkSigner, public_id: str, edition_id: str) -> str:
    """The recipient's part of every tracked link of one edition (and of its view link)."""
    return signer.sign(public_id, Purpose.VIEW, edition_id)


def verify_click(signer: LinkSigner, token: str, target: Target) -> str:
    """The public id of the recipient ``token`` was made for, for ``target``'s edition."""
    return signer.verify(token, Purpose.VIEW, target.edition_id)


def utm_fields(edition_id: str, owner: str, team: str) -> dict[str, str]:
    """What a utm value's placeholders stand for: {edition} is ``weekly-2026-11-23`` (the
    template and the edition's date), {template} ``weekly``, {block} the owning block's id
    (``layout`` for the layout's links), {team} its team (``layout`` for the layout's)."""
    template, _, day = edition_id.partition("/")
    return {"edition": f"{template}-{day}", "template": template, "block": owner, "team": team or LAYOUT}


def with_utm(url: str, utm: Mapping[str, str], fields: Mapping[str, str]) -> str:
    """``url`` with ``utm_<key>=<value>`` appended for each key it does not carry yet (the
    editor's own utm_ parameters win); the query as written and the fragment are kept."""
    parts = urlsplit(url)
    present = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = [(f"utm_{key}", fill(utm[key], fields)) for key in UTM_KEYS
             if key in utm and f"utm_{key}" not in present]
    if not extra:
        return url
    query = parts.query + ("&" if parts.query else "") + urlencode(extra, quote_via=quote)
    return urlunsplit(parts._replace(query=query))


class LinkTracker:
    """Rewrites the links of one variant body; ``targets`` lists them in the order written."""

    def __init__(self, signer: LinkSigner, base_url: str, edition_id: str,
                 utm: Mapping[str, str] | None = None) -> None:
        self.signer, self.edition_id, self.utm = signer, edition_id, utm or {}
        self.prefix = base_url.rstrip("/") + Purpose.CLICK.path
        self.targets: list[Target] = []

    def track(self, markup: str, owner: str, team: str = "", tracked: bool = True) -> str:
        """``markup`` (MJML or HTML, attribute values escaped) with its web links tracked (and
        given the utm parameters); ``tracked`` False: only the utm parameters."""
        count = 0
        fields = utm_fields(self.edition_id, owner, team)

        def rewrite(match: re.Match) -> str:
            nonlocal count
            value = match.group(3)
            url = html.unescape(value).strip()
            if (PLACEHOLDER.search(value) or not url.lower().startswith(("https://", "http://"))
                    or url.startswith(self.prefix)):
                return match.group(0)
            url = with_utm(url, self.utm, fields) if self.utm else url
            if not tracked:
                written = html.escape(url, quote=True) if url != html.unescape(value).strip() else value
                return f"{match.group(1)}{match.group(2)}{written}{match.group(2)}"
            target = Target(self.edition_id, owner, team, count, url)
            count += 1
            self.targets.append(target)
            tracked_url = self.prefix + self.signer.seal(target.text(), Purpose.CLICK, TARGET_DICTIONARY) + "/" + placeholder(TOKEN_FIELD)
            return f"{match.group(1)}{match.group(2)}{tracked_url}{match.group(2)}"

        def in_tag(match: re.Match) -> str:
            tag = match.group(0)
            return tag if _SHARE_BUTTON.match(tag) else _HREF.sub(rewrite, tag)

        if not tracked and not self.utm:
            return markup  # the links as written
        return _TAG.sub(in_tag, markup)
