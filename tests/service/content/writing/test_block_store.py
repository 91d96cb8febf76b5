"""Saving block files: only over the version the editor saw (else Conflict, nothing written),
atomically (the temporary file beside it, the old permissions, no stray file), other files
byte-identical, committed in a git work tree with the editor as author (and only that path),
and put back when git refuses; the candidate check names the real paths and tells the
block's own problems from those it causes elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from repo_paths import CONTENT
from service.content.writing import git
from service.content.writing.candidate import check_candidate
from service.content.writing.store import BlockStore, Conflict, SaveError, etag_of, write_atomically

LENA = git.Author("lena", "lena@nordhaus.example")
NAME = "winter-garden-care.en"


def run(top: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(top), "-c", "user.name=setup", "-c", "user.email=setup@example",
                           *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def content(tmp_path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    return root


@pytest.fixture
def repository(content) -> Path:
    run(content, "init", "-q")
    run(content, "add", "-A")
    run(content, "commit", "-qm", "the demo content")
    return content


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
            and ".git" not in p.relative_to(root).parts}


def test_a_save_over_the_version_seen_changes_that_file_alone(content):
    store = BlockStore(content)
    before = snapshot(content)
    old = store.read("advice", NAME)
    os.chmod(store.path_of("advice", NAME), 0o640)
    saved = store.save("advice", NAME, old.replace(b"Frost", b"Ice"), etag_of(old), LENA, "edit")
    after = snapshot(content)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {f"blocks/advice/{NAME}.mjml"} and set(after) == set(before)  # no stray temporary file
    assert saved.previous == etag_of(old) and saved.etag == etag_of(after[f"blocks/advice/{NAME}.mjml"])
    assert saved.commit is None  # no git work tree
    assert os.stat(store.path_of("advice", NAME)).st_mode & 0o777 == 0o640


def test_a_stale_version_or_an_existing_new_block_is_a_conflict_and_nothing_is_written(content):
    store = BlockStore(content)
    old = store.read("advice", NAME)
    store.save("advice", NAME, old + b"<!-- theirs -->\n", etag_of(old), LENA, "theirs")
    with pytest.raises(Conflict) as stale:
        store.save("advice", NAME, old + b"<!-- mine -->\n", etag_of(old), LENA, "mine")
    assert stale.value.current == old + b"<!-- theirs -->\n" and stale.value.etag == etag_of(stale.value.current)
    with pytest.raises(Conflict):
        store.save("advice", NAME, b"new", None, LENA, "a new block by a taken name")
    assert store.read("advice", NAME) == old + b"<!-- theirs -->\n"


@pytest.mark.parametrize("team, name", [("advice", "../offers/x"), ("../advice", "x"), ("advice", "a/b"),
                                        ("Advice", "x"), ("advice", ".hidden")])
def test_names_that_would_leave_the_team_folder_are_refused(content, team, name):
    with pytest.raises(ValueError):
        BlockStore(content).path_of(team, name)


def test_an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    path = tmp_path / "block.mjml"
    path.write_bytes(b"old")
    seen = []

    def failing_replace(source, target):
        seen.append(Path(source).read_bytes())  # the whole new text was in the temporary file
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_atomically(path, b"new")
    assert seen == [b"new"]
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["block.mjml"]


def test_in_a_git_work_tree_the_save_is_a_commit_of_that_file_by_the_editor(repository):
    store = BlockStore(repository)
    (repository / "teams.yaml").write_text("# someone's unsaved work\n", encoding="utf-8", newline="")
    old = store.read("advice", NAME)
    saved = store.save("advice", NAME, old.replace(b"Frost", b"Ice"), etag_of(old), LENA, "advice: edited")
    log = run(repository, "log", "-1", "--format=%H|%an|%ae|%cn|%s")
    assert log.strip() == f"{saved.commit}|lena|lena@nordhaus.example|lena|advice: edited"
    assert run(repository, "show", "--name-only", "--format=", "HEAD").split() == [f"blocks/advice/{NAME}.mjml"]
    assert "teams.yaml" in run(repository, "status", "--porcelain")  # the other change stays uncommitted
    assert git.last_author(repository, store.path_of("advice", NAME)) == "lena"


def test_when_git_refuses_the_old_file_is_put_back(repository):
    hook = repository / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'no commits today' >&2\nexit 1\n")
    hook.chmod(0o755)
    store = BlockStore(repository)
    old = store.read("advice", NAME)
    with pytest.raises(SaveError, match="no commits today"):
        store.save("advice", NAME, b"---\ntitle: x\n---\n", etag_of(old), LENA, "refused")
    assert store.read("advice", NAME) == old and run(repository, "status", "--porcelain") == ""


def test_the_candidate_check_names_real_paths_and_its_own_problems(content):
    text = (content / "blocks/advice" / f"{NAME}.mjml").read_text()
    broken = text.replace("priority: 20", "priority: lots").replace('alt="Potted plants wrapped in fleece on a '
                                                                    'snowy patio" ', "")
    checked = check_candidate(content, f"blocks/advice/{NAME}.mjml", broken)
    shown = f"{content.resolve().as_posix()}/blocks/advice/{NAME}.mjml"
    assert checked.path == shown and not checked.ok and checked.elsewhere == ()
    assert [(p.line, p.message.split(",")[0]) for p in checked.own if p.severity.value == "error"] == [
        (5, "'priority' must be a whole number"), (12, "<mj-image> without alt text (write alt=\"\" for a decorative image)")]
    assert (content / "blocks/advice" / f"{NAME}.mjml").read_text() == text  # the real folder untouched


def test_a_block_that_breaks_another_file_is_not_ok(content):
    # The same story in the same locale twice: the error can be reported on the other file.
    other = (content / "blocks/advice/knife-care.en.mjml").read_text()
    checked = check_candidate(content, "blocks/advice/aaa.en.mjml", other)
    assert not checked.ok and any("story" in p.message for p in (*checked.own, *checked.elsewhere))


def test_the_candidate_is_never_written_outside_the_copy(content):
    with pytest.raises(ValueError):
        check_candidate(content, "blocks/advice/../../../escaped.mjml", "x")
