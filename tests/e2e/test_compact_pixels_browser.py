"""What the send does to MJML's HTML changes no pixel: every distinct variant of the demo's mails
(the weekly edition's with each exclusion, the other templates' by segment and locale), as a
recipient gets it, rendered by Debian's Chromium as MJML wrote it and as it is sent (compacted by
``service.assembly.compact``, made ASCII and folded into 7-bit lines by
``service.assembly.ascii_html``) at a desktop and a phone width, full page; the screenshots are
the same to the pixel.

Images come from a route of the test's own (one patterned PNG for every image: a layout or scaling
change shows in it); nothing leaves the machine. The harness is first shown to see a difference:
one space more between two inline elements of a mail must change its screenshot.

Outlook's conditional markup is not rendered by Chromium: tests/service/assembly/test_compact.py
checks that it is kept (``compact`` itself refuses to change it)."""

from __future__ import annotations

import base64
from collections import Counter
import struct
import zlib

import pytest

import service.assembly.render as render_module
from preferences.links import LinkSigner
from repo_paths import CONTENT
from service.assembly.compact import kinds
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.content.check import load_content
from chromium import browser  # noqa: F401  (a fixture)
from demo_variants import EDITIONS, distinct_variants

WIDTHS = {"desktop": 800, "phone": 375}
_COMPARE = """([a, b]) => Promise.all([a, b].map(src => new Promise((ok, fail) => {
    const img = new Image(); img.onload = () => ok(img); img.onerror = fail; img.src = src; })))
  .then(([x, y]) => {
    const data = img => { const c = document.createElement('canvas'); c.width = img.width;
      c.height = img.height; const g = c.getContext('2d'); g.drawImage(img, 0, 0);
      return g.getImageData(0, 0, img.width, img.height).data; };
    if (x.width !== y.width || x.height !== y.height)
      return {sizes: [x.width, x.height, y.width, y.height], differing: -1};
    const p = data(x), q = data(y); let differing = 0;
    for (let i = 0; i < p.length; i += 4)
      if (p[i] !== q[i] || p[i+1] !== q[i+1] || p[i+2] !== q[i+2] || p[i+3] !== q[i+3]) differing++;
    return {sizes: [x.width, x.height], differing};
  })"""


def patterned_png(width: int = 120, height: int = 80) -> bytes:
    """A PNG of stripes and a gradient: stretched, cropped or moved, it shows."""
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in ((x * 9) % 256, (y * 13) % 256,
                                                                       255 if (x // 8 + y // 8) % 2 else 40))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class Screens:
    """One page per width; every request but an image's is refused, every image is the pattern."""

    def __init__(self, browser):
        image = patterned_png()
        self.pages = {}
        for name, width in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": 700})
            page.route("**/*", lambda route: route.fulfill(status=200, content_type="image/png", body=image)
                       if route.request.resource_type == "image" else route.abort())
            self.pages[name] = page
        self.compare_page = browser.new_page()

    def shots(self, html: str) -> dict[str, bytes]:
        found = {}
        for name, page in self.pages.items():
            page.set_content(html, wait_until="load")
            found[name] = page.screenshot(full_page=True, animations="disabled", caret="hide")
        return found

    def differing_pixels(self, a: bytes, b: bytes) -> dict:
        """The number of pixels that differ (-1: not even the same size) and the sizes."""
        if a == b:
            return {"differing": 0}
        urls = [f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}" for png in (a, b)]
        return self.compare_page.evaluate(_COMPARE, urls)


def recipient_of(assembly) -> Recipient:
    return Recipient(public_id="pub0000000000000000001", email="anna@example.com", first_name="Anna",
                     locale=assembly.key.locale, attributes={})


def mails(variants, *, compacted: bool, monkeypatch) -> list[str]:
    """Each variant's HTML part as the recipient gets it, or (``compacted`` False) as MJML wrote
    it: without the compacting pass, the character references and the folding."""
    with monkeypatch.context() as patch:
        if not compacted:
            patch.setattr(render_module, "compact", lambda html: html)
            patch.setattr(render_module, "to_ascii", lambda html: html)
            patch.setattr(render_module, "fold", lambda html, longest: html)
        renderer = Renderer(LinkSigner([b"pixel-test-link-key-0123456789"]), "https://news.nordhaus.example",
                            "unsubscribe@nordhaus.example")
        return [renderer.html(edition, renderer.variant(edition, assembly), recipient_of(assembly))
                for edition, assembly in variants]


def test_the_harness_sees_one_space(browser):  # noqa: F811
    screens = Screens(browser)
    mail = ('<!doctype html><html><body style="margin:0"><div style="font:16px sans-serif">'
            '<a href="https://x.example/">one</a>{}<b>two</b></div><img src="https://x.example/i.png" width="{}">'
            '</body></html>')
    same, spaced, wider = (screens.shots(mail.format(gap, w)) for gap, w in (("", 100), (" ", 100), ("", 101)))
    assert screens.shots(mail.format("", 100)) == same
    for name in WIDTHS:
        assert screens.differing_pixels(same[name], spaced[name])["differing"] > 0
        assert screens.differing_pixels(same[name], wider[name])["differing"] > 0


# The weekly edition's 60 variants in four parts (every fourth), so that the test run's workers
# share them: as one test it was the longest of the suite.
PARTS = {"weekly": 4}


@pytest.mark.parametrize("template_id, part", [(t, p) for t in EDITIONS for p in range(PARTS.get(t, 1))])
def test_compacting_changes_no_pixel_of_any_variant(browser, monkeypatch, template_id, part):  # noqa: F811
    every = distinct_variants(load_content(CONTENT), template_id, with_exclusions=template_id == "weekly")
    assert len(every) >= 10
    variants = every[part::PARTS.get(template_id, 1)]
    before = mails(variants, compacted=False, monkeypatch=monkeypatch)
    after = mails(variants, compacted=True, monkeypatch=monkeypatch)
    saved = 1 - sum(map(len, after)) / sum(map(len, before))
    assert saved > 0.03, f"compacting saved only {saved:.1%}"
    screens, found = Screens(browser), {}
    for (edition, assembly), old, new in zip(variants, before, after):
        shots_before, shots_after = screens.shots(old), screens.shots(new)
        for name in WIDTHS:
            result = screens.differing_pixels(shots_before[name], shots_after[name])
            if result["differing"]:
                found[f"{assembly.key.label()} at {name} ({WIDTHS[name]}px)"] = result
    assert found == {}, "\n".join(f"{where}: {result}" for where, result in found.items())
    print(f"\n{template_id} (part {part + 1} of {PARTS.get(template_id, 1)}): {len(variants)} variants x "
          f"{len(WIDTHS)} widths, no pixel differs")
    print(breakdown(before, after))


def breakdown(before: list[str], after: list[str]) -> str:
    """A table: average bytes a variant by kind, before and after compacting."""
    was, now = Counter(), Counter()
    for html in before:
        was.update(kinds(html))
    for html in after:
        now.update(kinds(html))
    was["all"], now["all"] = sum(was.values()), sum(now.values())
    lines = [f"{'bytes a variant':26} {'before':>8} {'after':>8} {'saved':>6}"]
    for kind, size in sorted(was.items(), key=lambda item: -item[1]):
        lines.append(f"{kind:26} {size / len(before):8.0f} {now[kind] / len(after):8.0f} "
                     f"{1 - now[kind] / size:6.1%}")
    return "\n".join(lines)
