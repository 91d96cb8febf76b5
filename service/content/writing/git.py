"""Committing an editor's change where the content folder is a git work tree, with the editor
as author (and committer: the service commits on their behalf), so the repository's history,
blame and CODEOWNERS keep working for changes made in the browser.

git runs as a program with explicit arguments (never a shell), on the one path that changed:
``git commit -- <path>`` commits that file alone, whatever else is staged or changed."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 60  # seconds; a commit hook may run the content check


@dataclass(frozen=True)
class Author:
    name: str
    email: str


class GitError(RuntimeError):
    """git refused (a hook, a lock, a broken repository); the message is git's own."""


def _git(top: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(top), *args], capture_output=True, text=True, timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]}: {exc}") from exc
    if done.returncode != 0:
        raise GitError(f"git {args[0]}: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def work_tree(folder: Path) -> Path | None:
    """The top of the git work tree holding ``folder``, or None (not one, or no git installed)."""
    try:
        top = _git(Path(folder), "rev-parse", "--show-toplevel").strip()
    except GitError:
        return None
    return Path(top).resolve() if top else None


def commit(top: Path, path: Path, author: Author, message: str) -> str:
    """Commit ``path`` (added, changed or removed) alone as ``author``; the new commit's id."""
    relative = Path(path).resolve().relative_to(top).as_posix()
    identity = ["-c", f"user.name={author.name}", "-c", f"user.email={author.email}"]
    _git(top, "add", "--all", "--", relative)
    _git(top, *identity, "commit", "--quiet", f"--author={author.name} <{author.email}>", "-m", message,
         "--", relative)
    return _git(top, "rev-parse", "HEAD").strip()


def unstage(top: Path, path: Path) -> None:
    """Take ``path`` out of the index again (after a refused commit), as it was at HEAD."""
    relative = Path(path).resolve().relative_to(top).as_posix()
    try:
        _git(top, "reset", "--quiet", "--", relative)
    except GitError:
        pass  # a repository without any commit yet: nothing to go back to


def last_author(top: Path, path: Path) -> str | None:
    """The author name of the last commit that changed ``path`` (None: never committed)."""
    relative = Path(path).resolve().relative_to(top).as_posix()
    try:
        name = _git(top, "log", "-1", "--format=%an", "--", relative).strip()
    except GitError:
        return None
    return name or None
