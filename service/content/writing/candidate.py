"""An editor's block checked before it is written: exactly as ``newsletter check`` would check
the folder with the block in it, on a copy of the folder (the real one is never touched by a
text that may be wrong), its messages naming the real paths.

What stops a save: any error in the block's own file, and any error elsewhere that the folder as
it is does not have (a block can break another file's check: the same story twice, a fallback
that is no longer one). Errors the folder had already are not the editor's to fix here."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from service.content.check import CheckResult, check_content, shown_name
from service.content.problems import Problem, Severity


@dataclass(frozen=True)
class CandidateCheck:
    result: CheckResult  # the whole folder with the candidate in place (content: None on errors)
    path: str  # the candidate's file as messages name it
    own: tuple[Problem, ...]  # errors and warnings in the candidate's file
    elsewhere: tuple[Problem, ...]  # new errors in other files

    @property
    def ok(self) -> bool:
        return not self.elsewhere and not any(p.severity is Severity.ERROR for p in self.own)


def check_candidate(root: Path, relative: str, text: str, today: date | None = None,
                    baseline: CheckResult | None = None) -> CandidateCheck:
    """The check of ``root`` with ``text`` at ``relative`` (e.g. ``blocks/advice/x.en.mjml``);
    ``baseline``, the check of ``root`` as it is, is made when not given."""
    root = Path(root).resolve()
    shown_root = shown_name(root)
    with tempfile.TemporaryDirectory(prefix="newsletter-candidate-") as scratch:
        copy = Path(scratch) / "content"
        shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns(".git", ".*.tmp"))
        target = (copy / relative).resolve()
        if not target.is_relative_to(copy.resolve()):
            raise ValueError(f"{relative!r} is not a path inside the content folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
        result = check_content(copy, today, shown_root=shown_root)
    if baseline is None:
        baseline = check_content(root, today, shown_root=shown_root)
    shown = f"{shown_root}/{relative}"
    known = set(baseline.errors)
    own = tuple(sorted(p for p in (*result.errors, *result.warnings) if p.path == shown))
    elsewhere = tuple(p for p in result.errors if p.path != shown and p not in known)
    return CandidateCheck(result, shown, own, elsewhere)
