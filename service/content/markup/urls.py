"""Where an email's markup points: every image (asset) and link address with its line.

Used on the MJML editors write (for `path:line` warnings about hosts nobody declared) and on the
HTML that MJML compiles (which adds addresses of its own: the default icons of <mj-social>,
<mj-accordion> and <mj-carousel> come from third-party servers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

ASSET, LINK = "asset", "link"
# Attributes that load something into the mail (an image, a stylesheet) rather than link away.
ASSET_ATTRIBUTES = frozenset({"src", "background-url", "background", "icon-wrapped-url", "icon-unwrapped-url",
                              "left-icon", "right-icon", "thumbnails-src", "srcset"})
LINK_ATTRIBUTES = frozenset({"href", "action"})
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""", re.IGNORECASE)
_ABSOLUTE = re.compile(r"^(https?:)?//", re.IGNORECASE)
_HOST = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class Address:
    line: int  # 1-based, in the scanned text
    kind: str  # ASSET or LINK
    url: str
    host: str  # lowercase, without port


def addresses(markup: str) -> list[Address]:
    """Every absolute http(s) address in ``markup`` that is an image or a link. Addresses built
    by the service (``{{ links.preferences }}``), mailto: links and relative ones are not hosts of
    the content, and ``xmlns`` declarations are names, not addresses."""
    return _scan(markup).found


def default_icon_lines(markup: str) -> list[int]:
    """The lines of each <mj-social-element> without a ``src`` of its own: its icon comes from
    the compiler's social icon origin."""
    return _scan(markup).default_icons


def _scan(markup: str) -> _Scanner:
    scanner = _Scanner()
    try:
        scanner.feed(markup)
        scanner.close()
    except (AssertionError, ValueError):
        pass  # broken markup is reported by the markup check; what was read so far counts
    return scanner


def is_host(name: str) -> bool:
    """A host name as template.yaml declares it: ``cdn.shop.example`` or ``*.shop.example``."""
    return bool(_HOST.match(name))


def allowed(host: str, declared: tuple[str, ...]) -> bool:
    """``host`` is one of ``declared``; ``*.shop.example`` stands for every subdomain of it."""
    for name in declared:
        if host == name or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


def host_of(url: str) -> str | None:
    if not _ABSOLUTE.match(url):
        return None
    try:
        return urlsplit(url if not url.startswith("//") else "https:" + url).hostname
    except ValueError:
        return None


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Address] = []
        self.default_icons: list[int] = []
        self.in_style = False

    def _add(self, kind: str, value: str, line: int | None = None) -> None:
        for url in (value.split(",") if "," in value and kind == ASSET else [value]):
            url = url.strip().split(" ", 1)[0]  # srcset: "a.png 2x, b.png 3x"
            host = host_of(url)
            if host:
                self.found.append(Address(line or self.getpos()[0], kind, url, host))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("mj-style", "style"):
            self.in_style = True
        if tag == "mj-social-element" and not dict(attrs).get("src"):
            self.default_icons.append(self.getpos()[0])
        for name, value in attrs:
            if value is None:
                continue
            if name in LINK_ATTRIBUTES:
                # A stylesheet (<link href>, <mj-font href>) loads into the mail like an image.
                self._add(ASSET if tag in ("link", "mj-font") else LINK, value)
            elif name in ASSET_ATTRIBUTES:
                self._add(ASSET, value)
            elif name == "style":
                for url in _CSS_URL.findall(value):
                    self._add(ASSET, url)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("mj-style", "style"):
            self.in_style = False

    def handle_data(self, data: str) -> None:
        if not self.in_style:
            return
        start = self.getpos()[0]
        for match in _CSS_URL.finditer(data):
            self._add(ASSET, match.group(1), start + data.count("\n", 0, match.start()))
