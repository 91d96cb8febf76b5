"""Static checks of an MJML body as the editor wrote it: known tags, alt texts, links a screen
reader can name, safe links.

mjml-python passes unknown tags and attributes silently, so the tag set is checked here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from service.content.markup.fields import PERSONAL_LINKS

MJML_TAGS = frozenset({
    "mjml", "mj-head", "mj-body", "mj-attributes", "mj-all", "mj-class", "mj-breakpoint",
    "mj-font", "mj-html-attributes", "mj-html-attribute", "mj-selector", "mj-preview",
    "mj-style", "mj-title", "mj-accordion", "mj-accordion-element", "mj-accordion-title",
    "mj-accordion-text", "mj-button", "mj-carousel", "mj-carousel-image", "mj-column",
    "mj-divider", "mj-group", "mj-hero", "mj-image", "mj-navbar", "mj-navbar-link", "mj-raw",
    "mj-section", "mj-social", "mj-social-element", "mj-spacer", "mj-table", "mj-text",
    "mj-wrapper",
})
HEAD_TAGS = frozenset({"mj-head", "mj-attributes", "mj-all", "mj-class", "mj-breakpoint", "mj-font",
                       "mj-html-attributes", "mj-html-attribute", "mj-selector", "mj-preview",
                       "mj-style", "mj-title", "mjml", "mj-body"})
IMAGE_TAGS = frozenset({"mj-image", "img", "mj-carousel-image"})
LINK_ATTRIBUTES = frozenset({"href", "src", "background-url", "action"})
_FIELD_ONLY = re.compile(r"^\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}$")
_SAFE_SCHEMES = ("https://", "mailto:")


@dataclass(frozen=True)
class Finding:
    line: int  # 1-based, relative to the checked body
    message: str


def check_markup(body: str, *, whole_document: bool = False) -> list[Finding]:
    """Every problem in the MJML body; a block (not a whole layout) may not use head/body tags."""
    scanner = _Scanner(whole_document)
    try:
        scanner.feed(body)
        scanner.close()
    except (AssertionError, ValueError) as exc:  # HTMLParser's own complaints about broken markup
        scanner.findings.append(Finding(scanner.getpos()[0], f"broken markup: {exc}"))
    return scanner.findings


def link_problem(value: str) -> str | None:
    """Why a link or image address is not acceptable in an email, or None."""
    value = value.strip()
    field = _FIELD_ONLY.match(value)
    if field:
        if field.group(1) in PERSONAL_LINKS:
            return None
        return f"{field.group(1)} is not a link field (use one of: {', '.join(sorted(PERSONAL_LINKS))})"
    if "{{" in value or "{%" in value:
        return "a link must be a full https: address or one link field, not built from fields"
    if value.lower().startswith(_SAFE_SCHEMES) and len(value) > len("https://"):
        return None
    if value.lower().startswith("http://"):
        return f"plain-http link {value!r}: use https:"
    return f"link {value!r} is not https: or mailto:"


# Set by the service for every email, from the recipient's language and the subject line.
SERVICE_SET = {"mj-title": "<mj-title> is set by the service: every email's title is its subject line "
                           "(remove this line)"}
NAMELESS_LINK = ("a link whose only content is an image without alt text: screen readers cannot say "
                 "where it goes (give the image an alt naming the link's target)")


class _Scanner(HTMLParser):
    def __init__(self, whole_document: bool):
        super().__init__(convert_charrefs=True)
        self.whole_document = whole_document
        self.findings: list[Finding] = []
        self.in_defaults = 0  # inside <mj-attributes>, tags are attribute defaults, not content
        # Open <a> elements: [line, has a name (text or an image's alt), holds an image].
        self.links: list[list] = []

    def add(self, message: str) -> None:
        self.findings.append(Finding(self.getpos()[0], message))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "mj-attributes" and self.in_defaults:
            self.in_defaults -= 1
        if tag == "a" and self.links:
            line, named, image = self.links.pop()
            if image and not named:
                self.findings.append(Finding(line, NAMELESS_LINK))
            elif named and self.links:
                self.links[-1][1] = True

    def handle_data(self, data: str) -> None:
        if self.links and data.strip():
            self.links[-1][1] = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "mj-include":
            self.add("mj-include is not allowed: editors never choose file paths")
        elif (tag.startswith("mj-") or tag == "mjml") and tag not in MJML_TAGS:
            self.add(f"unknown MJML tag <{tag}>")
        elif tag in HEAD_TAGS and not self.whole_document:
            self.add(f"<{tag}> belongs in the template's layout, not in a block")
        if tag == "mj-attributes":
            self.in_defaults += 1
        if self.in_defaults:
            return
        if tag in SERVICE_SET and self.whole_document:
            self.add(SERVICE_SET[tag])
        if tag == "mjml" and "lang" in values:
            self.add("lang on <mjml> is set by the service: each email carries its recipient's language")
        self._check_names(tag, values)
        for name, value in attrs:
            if name in LINK_ATTRIBUTES and value is not None and not (tag == "mj-font" and name == "href"):
                problem = link_problem(value)
                if problem:
                    self.add(problem)
            elif name.startswith("on"):
                self.add(f"event handler attribute {name!r} is not allowed in email")
        if tag == "script":
            self.add("<script> is not allowed in email")

    def _check_names(self, tag: str, values: dict[str, str | None]) -> None:
        """Every image has an alt text; every link (an icon too) has a name screen readers say."""
        alt = values.get("alt")
        if tag in IMAGE_TAGS and alt is None:
            self.add(f"<{tag}> without alt text (write alt=\"\" for a decorative image)")
        elif tag == "mj-image" and values.get("href") and not (alt or "").strip():
            self.add(NAMELESS_LINK.replace("a link whose only content is an image", "a linked <mj-image>"))
        if tag == "mj-social-element" and not (alt or "").strip():
            self.add("<mj-social-element> without alt text: its icon is a link of its own, which screen "
                     "readers cannot name (write alt=\"Instagram\", the network's name)")
        if tag == "a":
            self.links.append([self.getpos()[0], False, False])
        elif tag == "img" and self.links:
            self.links[-1][2] = True
            if (alt or "").strip():
                self.links[-1][1] = True
