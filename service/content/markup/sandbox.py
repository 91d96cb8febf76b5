"""Editors' Jinja: a sandboxed environment and a static check of what a template may touch.

The sandbox is the second line of defence; the first is refusing, at check time, every
construct an editor has no use for (private attributes, calls, includes, unknown names)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment

from service.content.markup import limits
from service.content.markup.fields import PERSONAL_FIELDS, VARIANT_FIELDS, known_fields

SAFE_FILTERS = frozenset({
    "capitalize", "center", "default", "d", "e", "escape", "first", "float", "int", "join",
    "last", "length", "lower", "replace", "round", "striptags", "title", "trim", "truncate",
    "upper", "urlencode", "wordcount",
})
SAFE_TESTS = frozenset({"defined", "undefined", "none", "number", "string", "eq", "ne", "in",
                        "lt", "le", "gt", "ge", "even", "odd"})


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles `a ~ b` so that its result is checked against the length limit, and buffers
    (`{% set x %}...{% endset %}`, loops inside them) that refuse to grow past the output limit."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.output_buffer()")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_length(")
        super().visit_Concat(node, frame)
        self.write(", 'joining with ~')")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with bounded operators (`**`, `*`, `+`, `%`) and growing filters.

    Intercepted operators are never folded at compile time (Jinja's optimizer skips them), so
    neither compiling nor rendering `{{ 9 ** (9 ** 9) }}` computes it: it is refused."""

    intercepted_binops = frozenset(limits.BINOPS)
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, **options):
        super().__init__(**options)
        self.filters["center"] = limits.center
        self.filters["replace"] = limits.bounded_replace(self.filters)
        self.filters["join"] = limits.bounded_join(self.filters)

    concat = staticmethod(limits.bounded_concat)  # type: ignore[assignment]
    output_buffer = staticmethod(limits.OutputBuffer)

    def call_binop(self, context, operator: str, left, right):
        return limits.BINOPS[operator](left, right)

    @staticmethod
    def bounded_length(value, what: str):
        return limits.bounded_length(value, what)


@functools.cache
def editor_environment(autoescape: bool = True) -> BoundedSandbox:
    """The environment every editor-written template is compiled in (one per escaping mode)."""
    env = BoundedSandbox(
        undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True,
    )
    # Editors get no globals: no range(), cycler, joiner, lipsum, namespace, dict.
    env.globals.clear()
    return env


@dataclass(frozen=True)
class Finding:
    line: int  # 1-based, relative to the checked source
    message: str


def check_source(source: str, env: ImmutableSandboxedEnvironment,
                 extra_calls: frozenset[str] = frozenset()) -> list[Finding]:
    """Every reason why `source` is not an acceptable editor template (empty list: fine).

    `extra_calls` names functions the caller provides (the layout's `slot`)."""
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        return [Finding(exc.lineno or 1, f"Jinja syntax error: {exc.message}")]
    return _Checker(extra_calls).run(tree)


class _Checker:
    def __init__(self, extra_calls: frozenset[str]):
        self.extra_calls = extra_calls
        self.findings: list[Finding] = []
        self.local_names: set[str] = set()

    def run(self, tree: nodes.Template) -> list[Finding]:
        for node in tree.find_all(nodes.Name):
            if node.ctx in ("store", "param"):
                self.local_names.add(node.name)
        self.visit(tree, parent=None)
        return sorted(set(self.findings), key=lambda f: (f.line, f.message))

    def add(self, node: nodes.Node, message: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 1) or 1, message))

    def visit(self, node: nodes.Node, parent: nodes.Node | None) -> None:
        if not self.allowed(node, parent):
            return  # one finding per construct; its children would only repeat it
        for child in node.iter_child_nodes():
            self.visit(child, node)

    def allowed(self, node: nodes.Node, parent: nodes.Node | None) -> bool:
        if isinstance(node, (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            self.add(node, "include/import/extends are not allowed in content: editors never choose template paths")
            return False
        if isinstance(node, (nodes.Macro, nodes.CallBlock)):
            self.add(node, "macros are not allowed in content")
            return False
        if isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
            self.add(node, f"filter {node.name!r} is not allowed in content")
            return False
        if isinstance(node, nodes.Test) and node.name not in SAFE_TESTS:
            self.add(node, f"test {node.name!r} is not allowed in content")
            return False
        if isinstance(node, nodes.Call):
            return self.call(node)
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            return self.attribute(node, parent)
        if isinstance(node, nodes.Name) and node.ctx == "load":
            return self.name(node)
        return True

    def call(self, node: nodes.Call) -> bool:
        target = node.node
        if isinstance(target, nodes.Name) and target.name in self.extra_calls:
            if len(node.args) != 1 or not isinstance(node.args[0], nodes.Const) or node.kwargs:
                self.add(node, f"{target.name}() takes one quoted name, e.g. {target.name}(\"hero\")")
            return False
        self.add(node, "calling functions or methods is not allowed in content")
        return False

    def attribute(self, node: nodes.Getattr | nodes.Getitem, parent: nodes.Node | None) -> bool:
        if isinstance(node, nodes.Getattr):
            attr = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            attr = node.arg.value
        else:
            self.add(node, "computed attribute access is not allowed in content")
            return False
        if attr.startswith("_"):
            self.add(node, f"access to private attribute {attr!r} is not allowed (sandbox)")
            return False
        base = node.node
        if not isinstance(base, nodes.Name):
            self.add(node, f"unknown field ending in .{attr} (fields: {', '.join(known_fields())})")
            return False
        root = base.name
        if root in self.local_names:
            return True
        if root in PERSONAL_FIELDS:
            if attr not in PERSONAL_FIELDS[root]:
                self.add(node, f"unknown personal field {root}.{attr} (fields: {', '.join(known_fields())})")
            elif not isinstance(parent, nodes.Output):
                self.add(node, f"personal field {root}.{attr} may only be printed as it is "
                               f"({{{{ {root}.{attr} }}}}): what depends on the customer belongs in segments")
            return False
        attrs = VARIANT_FIELDS.get(root, ())
        if attrs is None or root not in VARIANT_FIELDS or attr not in attrs:
            self.add(node, f"unknown field {root}.{attr} (fields: {', '.join(known_fields())})")
        return False

    def name(self, node: nodes.Name) -> bool:
        if node.name in self.local_names or node.name in ("locale", "preheader"):
            return True
        if node.name in PERSONAL_FIELDS or node.name in VARIANT_FIELDS:
            self.add(node, f"{node.name!r} is a group of fields: use one of them "
                           f"(fields: {', '.join(known_fields())})")
        else:
            self.add(node, f"unknown field {node.name!r} (fields: {', '.join(known_fields())})")
        return False


def field_lines(source: str, field: str, env: ImmutableSandboxedEnvironment | None = None) -> list[int]:
    """The lines (1-based, relative to `source`) where the field `root.attr` is used; none when
    the source does not parse (its syntax error is reported already)."""
    root, _, attr = field.partition(".")
    try:
        tree = (env or editor_environment()).parse(source)
    except TemplateSyntaxError:
        return []
    return sorted({node.lineno for node in tree.find_all(nodes.Getattr)
                   if node.attr == attr and isinstance(node.node, nodes.Name) and node.node.name == root})
