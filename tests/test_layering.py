"""The architecture, enforced: who may import whom, no import cycles, and rooms of a sane size.

``LAYERS`` is the one written statement of the layering (the package docstrings say the same
in words). Every module of ``service`` and ``preferences`` belongs to the unit with the longest
matching name; it may import its own unit and the units listed for it, nothing else. Imports
inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from repo_paths import ROOT

PACKAGES = ("service", "preferences")
# unit -> the units it may import (besides itself). Lowest first.
LAYERS: dict[str, tuple[str, ...]] = {
    "preferences": (),
    "preferences.web": ("preferences",),
    "preferences.mail": ("preferences",),
    "service.settings": (),
    "service.delivery": (),
    "service.staff": ("preferences",),
    "service.content": ("preferences",),
    "service.assembly": ("service.content", "preferences"),
    "service.sending": ("service.assembly", "service.content", "service.delivery", "service.settings",
                        "preferences"),
    "service.lifecycle": ("service.sending", "service.assembly", "service.content", "service.delivery",
                          "service.settings", "preferences"),
    "service.results": ("service.sending", "service.assembly", "service.content", "preferences"),
    "service.experiments": ("service.results", "service.sending", "service.assembly", "service.content",
                            "preferences"),
    "service.web": ("service.staff", "service.experiments", "service.results", "service.sending", "service.lifecycle", "service.assembly", "service.content", "service.delivery",
                    "service.settings", "preferences.web", "preferences"),
    "service.cli": ("service.staff", "service.experiments", "service.results", "service.web", "service.sending", "service.lifecycle", "service.assembly",
                    "service.content", "service.delivery", "service.settings", "preferences.mail", "preferences"),
    "service": (),  # the package itself holds nothing but its docstring
}
MAX_MODULES_PER_FOLDER = 15
MAX_LINES_PER_MODULE = 300


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(path, root): path for package in PACKAGES
            for path in sorted((root / package).rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that the module ``name`` (at ``path``) imports, anywhere in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([node.module] if node.module else []))
            # `from pkg import module` imports the module; `from module import name`, the module.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def unit_of(module: str) -> str:
    return max((unit for unit in LAYERS if module == unit or module.startswith(unit + ".")), key=len)


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = all_modules(root)
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def layering_violations(edges: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(edges.items()):
        unit = unit_of(module)
        for target in sorted(targets):
            other = unit_of(target)
            if other != unit and other not in LAYERS[unit]:
                found.append(f"{module} ({unit}) imports {target} ({other})")
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(groups)


def test_every_module_belongs_to_a_declared_unit():
    assert [m for m in all_modules() if not any(m == u or m.startswith(u + ".") for u in LAYERS)] == []


def test_no_module_imports_outside_its_layer():
    assert layering_violations(graph()) == []


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_no_folder_holds_more_than_fifteen_modules():
    crowded = {}
    for package in PACKAGES:
        for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]:
            modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
            if len(modules) > MAX_MODULES_PER_FOLDER:
                crowded[str(folder.relative_to(ROOT))] = len(modules)
    assert crowded == {}


def test_no_module_is_longer_than_three_hundred_lines():
    long = {str(path.relative_to(ROOT)): n for path in all_modules().values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES_PER_MODULE}
    assert long == {}


def test_every_package_says_what_it_owns_and_may_import():
    silent = []
    for path in sorted(p for package in PACKAGES for p in (ROOT / package).rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if "import" not in doc:
            silent.append(str(path.relative_to(ROOT)))
    assert silent == []


# The checks themselves, on a small tree made for them --------------------------------------------

@pytest.fixture
def tree(tmp_path):
    def write(files: dict[str, str]) -> Path:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return tmp_path
    return write


def test_the_checks_see_an_upward_import_a_lazy_one_and_a_cycle(tree):
    root = tree({
        "preferences/__init__.py": "",
        "preferences/models.py": "def later():\n    from service.settings import Settings\n",
        "service/__init__.py": "",
        "service/settings.py": "",
        "service/content/__init__.py": "",
        "service/content/a.py": "from . import b\n",
        "service/content/b.py": "from service.content.a import x\nfrom service.assembly import render\n",
        "service/assembly/__init__.py": "",
        "service/assembly/render.py": "",
    })
    modules = all_modules(root)
    edges = {name: imports_of(name, path, set(modules)) for name, path in modules.items()}
    assert edges["service.content.a"] == {"service.content.b"}
    assert layering_violations(edges) == [
        "preferences.models (preferences) imports service.settings (service.settings)",
        "service.content.b (service.content) imports service.assembly.render (service.assembly)",
    ]
    assert cycles(edges) == [["service.content.a", "service.content.b"]]
