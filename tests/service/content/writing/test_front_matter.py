"""A block's file written from its values: an unchanged key keeps its bytes, comments, order and
line endings; a changed one-line key keeps its trailing comment; new keys go in the documented
order; the result reads back as asked (else the front matter is written afresh); and the check
reads what was written."""

from __future__ import annotations

from datetime import date

import pytest

from service.content.reading.yaml_lines import parse
from service.content.writing.front_matter import compose, line_keys, yaml_value

FILE = """---
title: Garden care in winter   # shown to staff only
story: winter-garden-care
slot: advice
segments:
  - vip        # the best customers
  # not the new ones
  - lapsed
priority: 20
publish: 2026-11-02
locale: en
status: ready
---
<mj-section>
  <mj-column><mj-text>Frost is hard on plants.</mj-text></mj-column>
</mj-section>
"""
BODY = FILE.split("---\n", 2)[2]


def header(text: str) -> dict:
    return dict(parse(text.split("---\n")[1]))


def test_nothing_changed_is_byte_identical_also_with_crlf_and_a_bom():
    assert compose(FILE, {"title": "Garden care in winter", "priority": 20, "segments": ["vip", "lapsed"]},
                   BODY) == FILE
    windows = "\ufeff" + FILE.replace("\n", "\r\n")
    assert compose(windows, {"status": "ready"}, BODY) == windows


def test_only_the_body_changed_keeps_the_front_matter_bytes():
    out = compose(FILE, {}, BODY.replace("Frost", "Ice"))
    assert out.split("<mj-section>")[0] == FILE.split("<mj-section>")[0]
    assert "Ice is hard" in out


def test_a_changed_key_is_one_line_and_keeps_its_comment_the_rest_stays():
    out = compose(FILE, {"title": "Winter: garden care", "expire": date(2027, 1, 10), "status": "draft"}, BODY)
    lines = out.split("\n")
    assert lines[1] == 'title: "Winter: garden care"   # shown to staff only'
    assert lines[9:12] == ["publish: 2026-11-02", "expire: 2027-01-10", "locale: en"]  # documented order
    assert "status: draft" in lines and "  # not the new ones" in lines
    assert header(out) == {**header(FILE), "title": "Winter: garden care", "expire": date(2027, 1, 10),
                           "status": "draft"}


def test_a_multi_line_list_is_replaced_and_a_removed_key_loses_its_lines():
    out = compose(FILE, {"segments": ["vip"], "priority": None}, BODY)
    assert "segments: [vip]" in out and "lapsed" not in out and "priority" not in out
    assert out.replace("segments: [vip]\n", "").replace("priority: 20\n", "") == FILE.replace(
        "segments:\n  - vip        # the best customers\n  # not the new ones\n  - lapsed\n", "").replace(
        "priority: 20\n", "")


@pytest.mark.parametrize("value, text", [
    ("Winter jackets", "Winter jackets"), ("yes", '"yes"'), ("42", '"42"'), ("a # b", '"a # b"'),
    ("", '""'), ("Tipps: Garten", '"Tipps: Garten"'), (" padded", '" padded"'),
    (["vip", "lapsed"], "[vip, lapsed]"), (["a, b"], '["a, b"]'), (5, "5"), (date(2026, 1, 2), "2026-01-02"),
    (False, "false"),
])
def test_values_read_back_as_themselves(value, text):
    assert yaml_value(value) == text
    assert parse(f"k: {text}\n")["k"] == value


def test_a_new_block_is_written_in_the_documented_order():
    out = compose(None, {"status": "draft", "title": "T", "slot": "advice", "segments": None, "locale": "en"},
                  "<mj-section/>\r\n")
    assert out == "---\ntitle: T\nslot: advice\nlocale: en\nstatus: draft\n---\n<mj-section/>\n"


def test_a_layout_it_cannot_follow_is_written_afresh_with_the_same_meaning():
    odd = "---\n{title: X, slot: advice}\n---\nbody\n"
    out = compose(odd, {"title": "Y"}, "body\n")
    assert header(out) == {"title": "Y", "slot": "advice"} and out.endswith("---\nbody\n")


def test_line_keys_name_each_front_matter_line_and_the_body_start():
    owners, body = line_keys(FILE)
    assert owners[2] == "title" and owners[5] == owners[7] == owners[8] == "segments" and body == 14
