"""The benches run as their docstrings say: each docstring's command names the script itself, no
file of bench/ shadows an importable module (a script's folder comes first on sys.path), and
`make bench` runs every bench with small sizes it accepts. No bench runs."""
import ast
import pkgutil
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "bench").glob("*.py"))
COMMAND = re.compile(r"\.venv/bin/python (bench/\S+\.py)")


def is_script(path: Path) -> bool:
    """A bench is a script (``if __name__ == "__main__"``); the others are modules they import."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            return True
    return False


SCRIPTS = [p for p in FILES if is_script(p)]


def test_every_bench_docstring_names_its_own_script():
    assert SCRIPTS, "no bench found"
    wrong = {}
    for path in SCRIPTS:
        named = COMMAND.findall(ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "")
        if named != [f"bench/{path.name}"]:
            wrong[path.name] = named
    assert wrong == {}


def test_no_bench_shadows_an_importable_module():
    # bench/preferences.py once hid the preferences package, bench/click.py the installed click.
    # The project's own packages are named as well: an editable install's finder is not listed.
    own = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    others = {m.name for m in pkgutil.iter_modules() if Path(getattr(m.module_finder, "path", "")) != ROOT / "bench"}
    names = own | others | set(sys.stdlib_module_names)
    assert [p.name for p in FILES if p.stem in names] == []


def small_sizes() -> dict:
    """bench/summary.py's SMALL, read without running anything."""
    tree = ast.parse((ROOT / "bench" / "summary.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "SMALL":
            return ast.literal_eval(node.value)
    raise AssertionError("bench/summary.py defines no SMALL")


def test_make_bench_runs_every_bench_with_options_it_has():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^bench:.*\n\t\$\(BIN\)/python bench/summary\.py", makefile, re.M), "make bench runs bench/summary.py"
    small = small_sizes()
    assert sorted(small) == sorted(p.name for p in SCRIPTS if p.name != "summary.py")
    unknown = {}
    for name, (arguments, headlines) in small.items():
        source = (ROOT / "bench" / name).read_text(encoding="utf-8")
        options = [a for a in arguments if a.startswith("--")]
        unknown.update({f"{name} {o}": "no such option" for o in options if f'"{o}"' not in source})
        assert headlines, f"{name}: no headline figure"
    assert unknown == {}
