"""Composing a variant's MJML: editors' Jinja rendered with variant values and placeholders."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any, Mapping, Sequence

from markupsafe import Markup

from service.content.markup.fields import placeholder_context
from service.content.markup.deadline import time_limit
from service.content.markup.sandbox import editor_environment
from service.content.model import Block, Template


class RenderError(Exception):
    """Editor-written Jinja failed at render time; `path` and `line` say where."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


def variant_context(template: Template, edition_date: date, segment_id: str, segment_name: str,
                    locale: str) -> dict[str, Any]:
    """The values a block may print: variant fields as values, personal fields as placeholders."""
    return {
        "edition": {"date": edition_date.isoformat(), "name": template.id},
        "segment": {"id": segment_id, "name": segment_name},
        "locale": locale,
        "preheader": "",
        **placeholder_context(),
    }


def render_block(block: Block, context: Mapping[str, Any]) -> str:
    """The block's MJML with its Jinja evaluated (autoescaped) for one variant."""
    return _render(block.body, context, block.path, block.body_line)


def render_layout(template: Template, slot_bodies: Mapping[str, Sequence[str]],
                  context: Mapping[str, Any]) -> str:
    """The whole MJML document: the layout with each slot replaced by its blocks' MJML."""
    def slot(name: str) -> Markup:
        return Markup("\n".join(slot_bodies.get(name, ())))
    return _render(template.layout, {**context, "slot": slot}, template.layout_path, 1)


def render_subject(template: Template, locale: str, context: Mapping[str, Any]) -> str:
    """The subject line for one variant (personal fields still as placeholders)."""
    text = template.subject.get(locale) or next(iter(template.subject.values()), "")
    return _render(text, context, template.path, template.line_of(f"subject.{locale}"), autoescape=False).strip()


def render_preheader(template: Template, locale: str, context: Mapping[str, Any]) -> str:
    """The inbox preview line for one variant (plain text; "" when the template has none)."""
    text = template.preheader.get(locale)
    return _render(text, context, template.path, template.line_of(f"preheader.{locale}"),
                   autoescape=False).strip() if text else ""


def _render(source: str, context: Mapping[str, Any], path: str, first_line: int,
            autoescape: bool = True) -> str:
    try:
        with time_limit():
            return _compiled(source, autoescape).render(context)
    except Exception as exc:  # editors' Jinja: any failure is a content error, never a traceback
        line = getattr(exc, "lineno", None) or _template_line(exc) or 1
        reason = str(exc) or type(exc).__name__
        raise RenderError(path, first_line + line - 1, f"cannot render: {reason}") from exc


def _template_line(exc: BaseException) -> int | None:
    """The template line a runtime error happened at: Jinja rewrites the traceback so that
    the template's frames carry its file name ("<template>") and line numbers."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@functools.lru_cache(maxsize=4096)
def _compiled(source: str, autoescape: bool):
    return editor_environment(autoescape).from_string(source)
