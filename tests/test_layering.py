"""`preferences` is a library the engine uses; it must never reach back into `service`."""

import ast

from repo_paths import ROOT


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_preferences_never_imports_service():
    offenders = [
        f"{path.relative_to(ROOT)}: imports {name}"
        for path in sorted((ROOT / "preferences").rglob("*.py"))
        for name in imported_modules(path)
        if name == "service" or name.startswith("service.")
    ]
    assert offenders == []


def test_the_check_sees_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from service.settings import Settings\nimport service\n")
    assert list(imported_modules(bad)) == ["service.settings", "service"]
