"""Whatever an editor's file holds, the check reports problems; it never raises."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings, strategies as st

from content_tree import write_tree
from service.content.check import check_content

front_matter_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
    st.lists(st.text(max_size=8), max_size=3), st.dates().map(str),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
yaml_text = st.text(alphabet=string.printable + "äöü\ufeff\u2028{}[]:-#&*!|>'\"%@`", max_size=300)


@st.composite
def block_files(draw):
    kind = draw(st.sampled_from(["bytes", "text", "front-matter"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "text":
        return draw(yaml_text)
    keys = draw(st.dictionaries(
        st.sampled_from(["title", "slot", "product_groups", "segments", "priority", "publish",
                         "expire", "locale", "status", "story", "zzz"]),
        front_matter_values, max_size=6))
    import json
    header = "\n".join(f"{k}: {json.dumps(v, default=str)}" for k, v in keys.items())
    body = draw(st.text(alphabet=string.printable + "{}<>%", max_size=200))
    return f"---\n{header}\n---\n{body}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=block_files())
def test_any_block_file(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("fuzz")
    result = check_content(write_tree(root, {"blocks/news/fuzz.mjml": data}))
    for problem in result.errors + result.warnings:
        assert problem.line >= 1 and problem.message


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["audience.yaml", "teams.yaml", "product_groups.yaml",
                             "templates/weekly/template.yaml", "templates/weekly/layout.mjml"]),
       data=st.one_of(yaml_text, st.binary(max_size=200)))
def test_any_yaml_file(tmp_path_factory, name, data):
    root = tmp_path_factory.mktemp("fuzz")
    result = check_content(write_tree(root, {name: data}))
    assert result.content is not None or result.errors
