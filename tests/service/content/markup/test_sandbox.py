"""Editors' Jinja: the static check is the first line, the immutable sandbox the second."""

from __future__ import annotations

import jinja2
import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from service.content.markup.sandbox import check_source, editor_environment

PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ ''|attr('__class__') }}",
    "{{ ('{0.__class__}'|attr('format'))(1) }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ namespace.__init__.__globals__ }}",
    "{% set x = [].append(1) %}",
]


def test_jinja_is_pinned_to_a_release_with_the_sandbox_fixes():
    # 3.1.5 and 3.1.6 fixed sandbox escapes through str.format and |attr (CVE-2024-56326, CVE-2025-27516).
    assert tuple(int(part) for part in jinja2.__version__.split(".")[:3]) >= (3, 1, 6)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_payloads_are_content_errors(payload):
    assert check_source(payload, editor_environment()) != []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_payloads_fail_in_the_sandbox_too(payload):
    # Without the static check: the sandbox (no globals, immutable, strict) still refuses.
    template = editor_environment().from_string(payload)
    with pytest.raises((SecurityError, UndefinedError, TypeError)):
        template.render({"recipient": {"first_name": "x"}})


def test_undefined_fields_are_errors_not_empty_strings():
    with pytest.raises(UndefinedError):
        editor_environment().from_string("{{ recipient.nickname }}").render({"recipient": {}})


def test_output_is_autoescaped():
    html = editor_environment().from_string("{{ segment.name }}").render({"segment": {"name": "<b>"}})
    assert html == "&lt;b&gt;"
