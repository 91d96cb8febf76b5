"""Experiments: arms of a block, and which arm a customer gets.

An arm is a sibling block file that says ``arm_of: <block id>`` and ``arm: b`` (the original is
arm ``a``). It inherits what decides where and when a block goes in (slot, product groups,
segments, priority, publish, expire) from the original's version in its locale: writing one of
them with another value is an error at that key's line, as is an arm of another team, an arm of
an unknown block or of an arm, two arms of one name, an arm missing in one of the original's
locales, an untracked original or arm (an experiment is decided on its clicks) and splits that
do not leave the original a share.

The experiment's id is the original's story. A customer's arm is a pure function of a secret key,
the experiment and the customer's public id (``bucket``): the same in every run, every worker and
after a crash, and never stored anywhere but in the ledger's record of what was sent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from types import MappingProxyType
from typing import Mapping

from service.content.model import BUCKETS, ORIGINAL, Arm, Block, Experiment
from service.content.problems import Problems

# What an arm inherits from the original (and may only repeat with the same value).
INHERITED = ("slot", "product_groups", "segments", "priority", "publish", "expire")
ARM_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")


def bucket(key: bytes, experiment: str, public_id: str) -> int:
    """The customer's place in the experiment, 0 <= bucket < BUCKETS: HMAC-SHA256 of
    ``<experiment>\\x1f<public id>``, its first 8 bytes as a number modulo BUCKETS (keyed: nobody
    without the key can tell or choose which arm a customer gets)."""
    return bucket_with(hasher(key, experiment), public_id)


def hasher(key: bytes, experiment: str):
    """The HMAC of one experiment up to the customer's part (copied per customer, computed once)."""
    return hmac.new(key, f"{experiment}\x1f".encode(), hashlib.sha256)


def bucket_with(experiment_hasher, public_id: str) -> int:
    mac = experiment_hasher.copy()
    mac.update(public_id.encode())
    return int.from_bytes(mac.digest()[:8], "big") % BUCKETS


def in_test_sample(key: bytes, edition: str, public_id: str, share: int) -> bool:
    """Whether the customer is in the test sample of a tested edition (``send --test``): their
    bucket in ``test-sample\x1f<edition>`` (``weekly/2026-12-07``) is below ``share`` (basis
    points). Keyed like the arms but under another name, so the sample is independent of the
    arms' buckets (every arm has its share of it); another edition draws another sample."""
    return bucket(key, f"test-sample\x1f{edition}", public_id) < share


def arms_text(arms: tuple[tuple[str, str], ...]) -> str | None:
    """The ledger's record of the arms one customer got: ``brand/hero-advent=b;offers/club=a``."""
    return ";".join(f"{experiment}={arm}" for experiment, arm in arms) or None


def resolve_experiments(blocks: dict[str, Block], problems: Problems) -> Mapping[str, Experiment]:
    """Check every arm against its original, replace it in ``blocks`` by itself with what it
    inherits (``arm_of`` then names the experiment), and return the experiments by id."""
    originals: dict[str, dict[str, Block]] = {}  # story -> locale -> block
    arm_stories = {b.story for b in blocks.values() if b.arm_of is not None}
    for block in blocks.values():
        if block.arm_of is None:
            originals.setdefault(block.story, {})[block.locale] = block
            for key in ("arm", "split"):
                if key in block.lines:
                    problems.error(block.path, block.line_of(key), f"{key!r} belongs to an arm: an arm also says "
                                                                   f"which block it is an arm of (arm_of: <block id>)")
    arms: dict[str, dict[str, list[Block]]] = {}  # experiment -> arm name -> its blocks
    for block in list(blocks.values()):
        if block.arm_of is None:
            continue
        story = _experiment_of(block, blocks, originals, arm_stories, problems)
        original = originals.get(story, {}).get(block.locale) if story else None
        if story and original is None:
            have = ", ".join(sorted(originals[story]))
            problems.error(block.path, block.line_of("locale") if "locale" in block.lines else block.line_of("arm_of"),
                           f"the original {story!r} has no {block.locale!r} version (it has {have}): an arm is "
                           f"written in the original's locales")
        if not _arm_name_ok(block, problems) or original is None:
            continue
        if _inherits(block, original, problems):
            blocks[block.id] = dataclasses.replace(
                block, arm_of=story, **{key: getattr(original, key) for key in INHERITED})
            arms.setdefault(story, {}).setdefault(block.arm, []).append(blocks[block.id])
    return MappingProxyType({story: experiment for story, named in sorted(arms.items())
                             if (experiment := _experiment(story, originals[story], named, problems))})


def _experiment_of(block: Block, blocks: dict[str, Block], originals: dict, arm_stories: set[str],
                   problems: Problems) -> str | None:
    """The story of the block an arm names (a block id, or the story of a translated block)."""
    named = block.arm_of or ""
    target = blocks.get(named)
    where = block.line_of("arm_of")
    if (target is not None and target.arm_of is not None) or (target is None and named in arm_stories):
        problems.error(block.path, where, f"arm_of: {named!r} is itself an arm: name the original block")
        return None
    story = target.story if target is not None else (named if named in originals else None)
    if story is None:
        problems.error(block.path, where, f"arm_of: there is no block {named!r} (write <team>/<file name "
                                          f"without .mjml>, or the story of its translations)")
        return None
    team = story.split("/", 1)[0]
    if team != block.team:
        problems.error(block.path, where, f"arm_of: {named!r} belongs to team {team!r}: an arm is written by "
                                          f"the original's team, in blocks/{team}/")
        return None
    if not all(b.tracking for b in originals[story].values()):
        problems.error(block.path, where, f"the original {named!r} has tracking: false: an experiment is "
                                          f"decided on its clicks, so its blocks must be tracked")
    return story


def _arm_name_ok(block: Block, problems: Problems) -> bool:
    if block.arm is None:
        problems.error(block.path, block.line_of("arm_of"), "an arm names itself: write arm: b (a letter or "
                                                            "a short name; the original is arm a)")
        return False
    if block.arm == ORIGINAL or not ARM_NAME.match(block.arm):
        why = "is the original's" if block.arm == ORIGINAL else "must be a lowercase letter or a short name"
        problems.error(block.path, block.line_of("arm"), f"arm {block.arm!r} {why} (arm: b, arm: short-text)")
        return False
    return True


def _inherits(block: Block, original: Block, problems: Problems) -> bool:
    """Whether the arm repeats nothing of the original with another value (each one reported)."""
    ok = True
    for key in INHERITED:
        mine, theirs = getattr(block, key), getattr(original, key)
        if key in block.lines and mine != theirs:
            problems.error(block.path, block.line_of(key), f"{key}: {_shown(mine)} is not the original's "
                           f"({_shown(theirs)} in {original.path}): an arm inherits {key}; leave it out")
            ok = False
    if not block.tracking:
        problems.error(block.path, block.line_of("tracking"), "an arm's links must be tracked: an experiment "
                                                              "is decided on its clicks")
        ok = False
    return ok


def _shown(value) -> str:
    if value is None:
        return "(not written)"
    if isinstance(value, frozenset):
        return "[" + ", ".join(sorted(value)) + "]"
    return str(value)


def _experiment(story: str, original: dict[str, Block], named: dict[str, list[Block]],
                problems: Problems) -> Experiment | None:
    ok = True
    stories: dict[str, str] = {}
    for name, blocks in sorted(named.items()):
        first = blocks[0]
        for block in blocks[1:]:
            if block.story != first.story:
                problems.error(block.path, block.line_of("arm"), f"experiment {story!r} has an arm {name!r} "
                                                                 f"already: {first.path}")
                ok = False
        stories[name] = first.story
        missing = sorted(set(original) - {b.locale for b in blocks if b.story == first.story})
        if missing:
            problems.error(first.path, first.line_of("arm"), f"arm {name!r} of {story!r} has no "
                           f"{', '.join(missing)} version: the original has one, so must every arm")
            ok = False
        splits = {b.split for b in blocks}
        if len(splits) > 1:
            problems.error(first.path, first.line_of("split"), f"the files of arm {name!r} declare different "
                           f"splits ({', '.join(sorted(str(s) for s in splits))}): write the same in each")
            ok = False
    declared = {name: blocks[0].split for name, blocks in named.items() if blocks[0].split is not None}
    if declared and len(declared) < len(named):
        for name in sorted(set(named) - set(declared)):
            block = named[name][0]
            problems.error(block.path, block.line_of("arm"), f"arm {name!r} declares no split while "
                           f"{', '.join(sorted(declared))} does: either every arm of {story!r} declares one or none")
        return None
    if sum(declared.values()) >= 100:
        last = named[max(declared)][0]
        problems.error(last.path, last.line_of("split"), f"the splits of {story!r} add up to "
                       f"{sum(declared.values())}%: the original (arm a) gets the rest, which must be more than 0%")
        return None
    if not ok:
        return None
    return Experiment(story, story.split("/", 1)[0], _arms(story, original, named, declared))


def _arms(story: str, original: dict[str, Block], named: dict[str, list[Block]],
          declared: dict[str, int]) -> tuple[Arm, ...]:
    """Declared arms by name, then the original: adding an arm with a split of its own moves
    only customers of arm a (the rest), nobody from one declared arm to another."""
    even = BUCKETS // (len(named) + 1)
    arms, start = [], 0
    for name in sorted(named):
        share = declared[name] * BUCKETS // 100 if declared else even
        blocks = MappingProxyType({b.locale: b.id for b in named[name]})
        arms.append(Arm(name, named[name][0].story, start, share, blocks, bool(declared)))
        start += share
    arms.append(Arm(ORIGINAL, story, start, BUCKETS - start,
                    MappingProxyType({locale: b.id for locale, b in original.items()})))
    return tuple(arms)
