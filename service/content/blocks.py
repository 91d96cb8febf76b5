"""blocks/<team>/*.mjml: one block each, YAML front matter then an MJML body."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.content.reading.field_reader import IDENT, FieldReader
from service.content.files import parse_yaml, read_text, split_front_matter
from service.content.markup.mjml_checks import check_markup
from service.content.markup.sandbox import check_source, editor_environment
from service.content.model import Block
from service.content.problems import Problems
from service.content.reading.yaml_lines import empty_mapping

BLOCK_KEYS = ("title", "slot", "story", "product_groups", "segments", "priority", "publish",
              "expire", "locale", "status", "tracking", "arm_of", "arm", "split")
STATUSES = ("ready", "draft")


@dataclass(frozen=True)
class Vocabulary:
    """What a block's front matter may refer to."""

    teams: frozenset[str]
    slots: frozenset[str]
    product_groups: frozenset[str]
    segments: frozenset[str]
    locales: tuple[str, ...]


def load_blocks(root: Path, vocabulary: Vocabulary, problems: Problems,
                shown_root: str) -> dict[str, Block]:
    folder = root / "blocks"
    blocks: dict[str, Block] = {}
    if not folder.is_dir():
        problems.error(f"{shown_root}/blocks", 1, "missing folder: blocks/<team>/ holds the blocks")
        return blocks
    for path in sorted(folder.rglob("*")):
        if path.is_dir() or path.name.startswith("."):
            continue
        shown = f"{shown_root}/{path.relative_to(root).as_posix()}"
        parts = path.relative_to(folder).parts
        if path.suffix != ".mjml":
            if path.name.lower() not in ("readme.md", "codeowners"):
                problems.warn(shown, 1, "not a block (blocks are .mjml files); ignored")
            continue
        if len(parts) != 2 or parts[0] not in vocabulary.teams:
            problems.error(shown, 1, "block file outside its team's folder: blocks live in "
                                     f"blocks/<team>/ with team one of {', '.join(sorted(vocabulary.teams))}")
            continue
        block = _load_one(path, shown, parts[0], vocabulary, problems)
        if block is not None:
            blocks[block.id] = block
    return blocks


def _load_one(path: Path, shown: str, team: str, vocabulary: Vocabulary,
              problems: Problems) -> Block | None:
    text = read_text(path, shown, problems)
    if text is None:
        return None
    parts = split_front_matter(text, shown, problems)
    if parts is None:
        return None
    data = parse_yaml(parts.header, shown, problems, parts.header_line)
    if data is None and parts.header.strip():
        return None
    reader = FieldReader(data if data is not None else empty_mapping(parts.header_line), problems,
                         shown, parts.header_line, "front matter mapping (title: ..., slot: ...)")
    if not reader.ok:
        return None
    reader.only(BLOCK_KEYS)
    block_id = f"{team}/{path.stem}"
    stem_ok = IDENT.match(path.stem.replace(".", "-"))
    if not stem_ok:
        problems.error(shown, 1, "block file names are lowercase letters, digits, '-' and '.'")
    before = len(problems.errors)
    title = reader.text("title", required=True) or block_id
    arm_of = reader.text("arm_of")  # an arm inherits its slot (service/content/experiments.py)
    slot = reader.text("slot", required=arm_of is None)
    if slot is not None and slot not in vocabulary.slots:
        reader.error("slot", f"unknown slot {slot!r} (slots: {', '.join(sorted(vocabulary.slots))})")
    groups = _known(reader, "product_groups", vocabulary.product_groups, "product group")
    segments = _known(reader, "segments", vocabulary.segments, "segment")
    locale = reader.text("locale", vocabulary.locales[0])
    if locale not in vocabulary.locales:
        reader.error("locale", f"unknown locale {locale!r} (locales: {', '.join(vocabulary.locales)})")
    suffix = path.stem.rpartition(".")[2] if "." in path.stem else None
    if suffix and suffix in vocabulary.locales and suffix != locale:
        reader.error("locale" if reader.has("locale") else None,
                     f"file name says locale {suffix!r} but the front matter says {locale!r}")
    status = reader.text("status", "ready")
    if status not in STATUSES:
        reader.error("status", f"status {status!r} must be one of {', '.join(STATUSES)}")
    publish, expire = reader.day("publish"), reader.day("expire")
    if publish and expire and expire <= publish:
        reader.error("expire", f"expire {expire} is not after publish {publish}")
    story = reader.text("story") or (path.stem.rpartition(".")[0] if suffix in vocabulary.locales else path.stem)
    priority = reader.integer("priority", 0, minimum=-1000, maximum=1000)
    tracking = reader.flag("tracking", True)
    arm = reader.text("arm")
    split = reader.integer("split", 0, minimum=1, maximum=99) if reader.has("split") else None
    _check_body(parts.body, parts.body_line, shown, problems)
    if len(problems.errors) > before or (slot is None and arm_of is None):
        return None
    return Block(
        id=block_id, team=team, path=shown, title=title, slot=slot or "", story=f"{team}/{story}",
        locale=locale or vocabulary.locales[0], product_groups=frozenset(groups or ()),
        segments=None if segments is None else frozenset(segments), priority=priority,
        publish=publish, expire=expire, status=status or "ready", body=parts.body,
        body_line=parts.body_line, mtime=path.stat().st_mtime, tracking=tracking, arm_of=arm_of, arm=arm,
        split=split, lines=reader.lines(),
    )


def _known(reader: FieldReader, key: str, known: frozenset[str], what: str) -> list[str] | None:
    items = reader.text_list(key)
    if items is None:
        return None
    for value, line in items:
        if value not in known:
            reader.problems.error(reader.path, line, f"unknown {what} {value!r} "
                                  f"({key}: {', '.join(sorted(known))})")
    return [value for value, _ in items if value in known]


def _check_body(body: str, first_line: int, shown: str, problems: Problems) -> None:
    if not body.strip():
        problems.error(shown, first_line, "the block has no MJML body after its front matter")
        return
    for finding in check_markup(body):
        problems.error(shown, first_line + finding.line - 1, finding.message)
    for finding in check_source(body, editor_environment()):
        problems.error(shown, first_line + finding.line - 1, finding.message)
