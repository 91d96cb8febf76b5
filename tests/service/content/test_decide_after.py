"""template.yaml's decide_after: a duration, reported at its line when it is not one."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest

from content_tree import FILES, write_tree
from service.content.check import check_content

TEMPLATE = "templates/weekly/template.yaml"


def with_line(tmp_path, monkeypatch, line: str):
    monkeypatch.chdir(tmp_path)
    text = textwrap.dedent(FILES[TEMPLATE]).replace("min_blocks: 1\n", f"min_blocks: 1\n{line}\n")
    return check_content(write_tree(tmp_path, {TEMPLATE: text}))


@pytest.mark.parametrize("written, meant", [("4h", timedelta(hours=4)), ("90m", timedelta(minutes=90)),
                                            ("1d", timedelta(days=1))])
def test_a_duration_is_read(tmp_path, monkeypatch, written, meant):
    result = with_line(tmp_path, monkeypatch, f"decide_after: {written}")
    assert result.errors == []
    assert result.content.templates["weekly"].decide_after == meant


@pytest.mark.parametrize("written", ["4", "four hours", "0h", "4w", "[4h]"])
def test_anything_else_is_an_error_at_its_line(tmp_path, monkeypatch, written):
    result = with_line(tmp_path, monkeypatch, f"decide_after: {written}")
    [error] = [str(p) for p in result.errors]
    assert error.startswith("content/templates/weekly/template.yaml:8: decide_after")
    assert "like 4h, 90m or 1d" in error


def test_without_it_an_edition_is_decided_by_hand_only(tmp_path, monkeypatch):
    result = with_line(tmp_path, monkeypatch, "")
    assert result.errors == [] and result.content.templates["weekly"].decide_after is None
