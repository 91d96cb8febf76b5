"""Two copies of a content folder for bench/render.py's experiment comparison (imported, not run):
one with two experiments of two arms, one with none, the rest the same.

- *without*: every arm file (front matter with ``arm_of:``) removed;
- *with two*: the folder's own experiments, plus an arm ``b`` of the block (story) that the most
  customers get among those not yet in an experiment, in each of its locales: the original's body
  with one more line of text, so its arm is a body of its own. A folder with two or more
  experiments already is kept as it is.

Both are written under a temporary folder that the caller removes.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from service.assembly.edition import Edition
from service.content.check import load_content

from render_path import EDITION, TEMPLATE


def is_arm(path: Path) -> bool:
    head = path.read_text(encoding="utf-8").split("\n---", 1)[0]
    return any(line.startswith("arm_of:") for line in head.splitlines())


def without_experiments(content_dir: Path, into: Path) -> Path:
    target = into / "without-experiments"
    shutil.copytree(content_dir, target)
    for path in (target / "blocks").rglob("*.mjml"):
        if is_arm(path):
            path.unlink()
    return target


def with_two_experiments(content_dir: Path, into: Path, customers, experiment_key: bytes) -> tuple[Path, list[str]]:
    """The copy and the ids of its experiments."""
    target = into / "two-experiments"
    shutil.copytree(content_dir, target)
    content = load_content(target)
    experiments = list(content.experiments)
    if len(experiments) >= 2:
        return target, experiments
    edition = Edition(content, content.templates[TEMPLATE], EDITION, experiment_key=experiment_key)
    taken = {b.story for e in content.experiments.values() for b in content.blocks.values()
             if b.story == e or b.arm_of == e}
    counts = Counter()
    for recipient in customers:
        assembly = edition.assembly_for(recipient)
        if assembly is not None and assembly.skip_reason is None:
            counts.update(b.story for b in assembly.blocks if b.story not in taken and b.tracking)
    story = counts.most_common(1)[0][0]
    for block in content.blocks.values():
        if block.story != story:
            continue
        source = Path(block.path)
        body = source.read_text(encoding="utf-8").split("\n---", 1)[1].split("\n", 1)[1]
        arm = body.replace("<mj-column>", "<mj-column>\n    <mj-text>Arm b: eine Zeile mehr.</mj-text>", 1)
        (source.parent / f"{source.name.split('.')[0]}-bench-b.{block.locale}.mjml").write_text(
            f"---\ntitle: \"{block.title} (arm b)\"\narm_of: {story}\narm: b\nlocale: {block.locale}\n"
            f"status: ready\n---\n{arm}", encoding="utf-8")
    return target, experiments + [story]
