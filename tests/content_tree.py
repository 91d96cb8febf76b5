"""A tiny, valid content tree that tests change one file at a time."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from service.content.check import check_content

FILES = {
    "teams.yaml": """\
        teams:
          - id: news
            name: Product news
            reviewers: ["@shop/news"]
          - id: brand
            name: Brand
            reviewers: ["@shop/brand", "@shop/leads"]
        """,
    "product_groups.yaml": """\
        product_groups:
          - id: outdoor
            label: {de: Outdoor, en: Outdoor}
          - id: kitchen
            label: {de: Küche, en: Kitchen}
        """,
    "audience.yaml": """\
        locales: [de, en]
        attributes:
          lifecycle: {type: choice, values: [subscriber, customer]}
          purchasing_power: {type: number, min: 1, max: 5}
          last_order: {type: date}
          loyalty: {type: flag}
        segments:
          - id: vip
            name: VIP
            rule:
              purchasing_power: {gte: 4}
          - id: everyone
            name: Everyone
            rule: {}
        """,
    "templates/weekly/template.yaml": """\
        name: Weekly
        list_id: weekly.shop.example
        sender: {name: Shop, email: news@shop.example}
        subject: {de: "Hallo {{ recipient.first_name }}", en: "Hello {{ recipient.first_name }}"}
        first_name_fallback: {de: Kundin, en: there}
        schedule: {cadence: weekly, weekday: monday, time: "07:00", timezone: Europe/Berlin}
        min_blocks: 1
        slots:
          hero: {teams: [brand], max: 1, required: true, fallback: brand/hero}
          products: {teams: [news], max: 2}
        """,
    "templates/weekly/layout.mjml": """\
        <mjml>
          <mj-body>
            {{ slot("hero") }}
            {{ slot("products") }}
            <mj-section><mj-column><mj-text>
              <a href="{{ links.unsubscribe }}">Abmelden</a>
            </mj-text></mj-column></mj-section>
          </mj-body>
        </mjml>
        """,
    "blocks/brand/hero.mjml": """\
        ---
        title: Hero
        slot: hero
        ---
        <mj-section><mj-column><mj-text>Hallo {{ recipient.first_name }}</mj-text></mj-column></mj-section>
        """,
    "blocks/news/jackets.mjml": """\
        ---
        title: Jackets
        slot: products
        product_groups: [outdoor]
        segments: [vip]
        publish: 2026-11-20
        expire: 2026-12-10
        ---
        <mj-section><mj-column>
          <mj-image src="https://cdn.shop.example/j.jpg" alt="Jackets" />
          <mj-button href="https://shop.example/j">Ansehen</mj-button>
        </mj-column></mj-section>
        """,
}


def write_tree(root: Path, overrides: dict[str, str | bytes | None] | None = None) -> Path:
    """Write the tree under root/content, with files replaced (text/bytes) or removed (None)."""
    files: dict[str, str | bytes | None] = {k: textwrap.dedent(v) for k, v in FILES.items()}
    for name, text in (overrides or {}).items():
        files[name] = text if isinstance(text, (bytes, type(None))) else textwrap.dedent(text)
    content = root / "content"
    for name, text in files.items():
        if text is None:
            continue
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return content


BLOCK = """\
    ---
    title: T
    slot: products
    {extra}
    ---
    <mj-section><mj-column>
      {body}
    </mj-column></mj-section>
    """


def block_file(body: str = "<mj-text>Hi</mj-text>", extra: str = "status: ready") -> str:
    """A block file of the tiny tree's products slot: ``extra`` front-matter lines at line 4."""
    return textwrap.dedent(BLOCK).format(extra=extra, body=body)


@pytest.fixture
def content_errors(tmp_path, monkeypatch):
    """``run(overrides)``: the check's errors (as ``path:line: message``) of the tiny tree with
    ``overrides``, written under tmp_path, the working directory."""
    monkeypatch.chdir(tmp_path)

    def run(overrides):
        return [str(p) for p in check_content(write_tree(tmp_path, overrides)).errors]
    return run
