"""Assembly: which blocks fill each slot of an edition for one variant, and why the others don't.

An edition (template + date) is prepared once: per (segment, locale) the ordered candidates of
each slot. A customer then costs a segment match and a dictionary lookup; the variant itself is
assembled once per distinct (segment, locale, relevant exclusions) and cached.

An experiment's arms never compete for a slot: the original does, and when it is chosen the
customer's arm (``service.content.experiments``) decides which of the arms' bodies goes in. The
arms are part of the variant key, so a variant is still compiled once per arm combination.

A best-of edition (template.yaml's ``digest:``, for the slower readers) is a variant too: its key
names the digest, and its slots take the same candidates in the order of the digest's ranking
(``service.assembly.digest``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Iterable, Mapping

from service.assembly.recipient import Recipient
from service.assembly.arms import ArmChooser
from service.assembly.digest import Ranked, Ranking, in_digest_order
from service.content.experiments import arms_text
from service.content.model import Block, Content, Digest, Slot, Template
from service.content.segments import Segment, segment_of


@dataclass(frozen=True)
class VariantKey:
    """Customers with equal keys get byte-identical bodies (but for personal fields)."""

    template: str
    edition_date: date
    segment: str
    locale: str
    exclusions: tuple[str, ...] = ()  # only the excluded groups that change the result
    drafts: bool = False
    arms: tuple[tuple[str, str], ...] = ()  # (experiment, arm), sorted: the arms its blocks are
    digest: str | None = None  # a best-of edition's Digest.name ("best of 4w"); None: the week's

    def label(self) -> str:
        parts = [self.segment, self.locale] + ([f"-{','.join(self.exclusions)}"] if self.exclusions else [])
        arms = f" [{arms_text(self.arms)}]" if self.arms else ""
        digest = f" ({self.digest})" if self.digest else ""
        return "/".join(parts) + arms + digest + (" (drafts)" if self.drafts else "")


@dataclass(frozen=True)
class Rejection:
    block: str
    reason: str


@dataclass(frozen=True)
class SlotFill:
    slot: Slot
    chosen: tuple[Block, ...]
    rejected: tuple[Rejection, ...]
    used_fallback: bool = False
    ranking: tuple[Ranked, ...] = ()  # a best-of edition's: each candidate's place and figures


@dataclass(frozen=True)
class Assembly:
    key: VariantKey
    segment: Segment
    fills: tuple[SlotFill, ...]
    skip_reason: str | None = None
    digest: Digest | None = None  # a best-of variant's digest (its key names it); None: the week's

    @property
    def blocks(self) -> tuple[Block, ...]:
        return tuple(b for fill in self.fills for b in fill.chosen)

    @property
    def body_key(self) -> tuple:
        """Equal for assemblies whose emails are the same text: exclusions that only removed
        a block which was over the slot's max anyway share one compiled body."""
        return (self.key.template, self.key.edition_date, self.segment.id, self.key.locale,
                tuple(tuple(b.id for b in fill.chosen) for fill in self.fills))

    def trace(self) -> list[str]:
        """Human-readable: per slot the chosen blocks, then every rejected one with its reason."""
        lines = [f"variant {self.key.label()} of {self.key.template} {self.key.edition_date}"]
        for fill in self.fills:
            chosen = ", ".join(b.id for b in fill.chosen) or "(empty)"
            lines.append(f"  {fill.slot.name}: {chosen}" + ("  [fallback]" if fill.used_fallback else ""))
            lines.extend(f"    - {r.block}: {r.reason}" for r in fill.rejected)
            if self.digest is not None:
                ids = {b.id for b in fill.chosen}
                lines.extend(f"    {r.text(self.digest, r.block in ids)}" for r in fill.ranking)
        lines.extend(f"  experiment {experiment}: arm {arm}" for experiment, arm in self.key.arms)
        if self.skip_reason:
            lines.append(f"  NOT SENT: {self.skip_reason}")
        return lines


class Edition:
    """One dated issue of a template, ready to assemble variants for any customer."""

    def __init__(self, content: Content, template: Template, edition_date: date, drafts: bool = False,
                 experiment_key: bytes | None = None, rankings: Mapping[str, Ranking] | None = None):
        self.content, self.template, self.date, self.drafts = content, template, edition_date, drafts
        # Per Digest.name, the ranking of its best-of variants (none known: thin, the normal rules).
        self.rankings = dict(rankings or {})
        # Which arm of each experiment a customer gets (Settings.experiment_key assigns them).
        self.arms = ArmChooser(content, drafts, experiment_key)
        # A block named as a fallback (any translation of it) is kept for empty slots only.
        self._fallback_stories = {content.blocks[s.fallback].story for t in content.templates.values()
                                  for s in t.slots if s.fallback in content.blocks}
        self._candidates: dict[tuple[str, str], dict[str, tuple[list[Block], list[Rejection]]]] = {}
        self._relevant: dict[tuple[str, str], frozenset[str]] = {}
        self._variants: dict[VariantKey, Assembly] = {}
        self._armed: dict[tuple, Assembly] = {}  # (variant key without arms, arms) -> the variant with them

    # -- per customer -------------------------------------------------------------------
    def segment_for(self, attributes: Mapping, locale: str) -> Segment | None:
        return segment_of(self.content.audience.segments, attributes, self.locale_of(locale), self.date)

    def locale_of(self, locale: str | None) -> str:
        locales = self.content.audience.locales
        return locale if locale in locales else locales[0]

    def assembly_for(self, recipient: Recipient, digest: Digest | None = None) -> Assembly | None:
        """The recipient's assembly (check its skip_reason), or None when no segment matches."""
        segment = self.segment_for(recipient.attributes, recipient.locale)
        if segment is None:
            return None
        return self.assemble(segment, recipient.locale, recipient.excluded_groups, customer=recipient.public_id,
                             digest=digest)

    def key_for(self, segment: Segment, locale: str, excluded: Iterable[str] = (),
                digest: Digest | None = None) -> VariantKey:
        """The variant key: exclusions that no candidate is about do not split variants."""
        locale = self.locale_of(locale)
        relevant = self._relevant_groups(segment, locale)
        exclusions = tuple(sorted(relevant.intersection(excluded)))
        return VariantKey(self.template.id, self.date, segment.id, locale, exclusions, self.drafts,
                          digest=digest.name if digest else None)

    def digest_for(self, pace: str) -> Digest | None:
        """The best-of edition readers of ``pace`` (a frequency) get instead of this one, if any."""
        return self.template.digest_for(pace) if self.template.trigger is None else None

    def assemble(self, segment: Segment, locale: str, excluded: Iterable[str] = (), *,
                 customer: str | None = None, arms: Mapping[str, str] | None = None,
                 digest: Digest | None = None) -> Assembly:
        """The variant for a segment, locale and exclusions (the ``digest``'s best-of variant);
        with the arms of ``customer`` (a public id) in the experiments of its blocks, or the
        ``arms`` named (experiment -> arm; the preview), else every experiment's original (arm a,
        as the key says nothing of arms)."""
        key = self.key_for(segment, locale, excluded, digest)
        found = self._variants.get(key)
        if found is None:
            found = self._variants[key] = self._assemble(key, segment, digest)
        if (customer is None and arms is None) or not self.content.experiments:
            return found
        if arms is None:  # a customer of a send: their arms
            return self.arms.for_customer(key, found, customer, lambda chosen: self._with_arms(found, key, chosen))
        chosen = self.arms.arms_of(found, customer, arms)
        with_arms = self._armed.get((key, chosen))
        if with_arms is None:
            with_arms = self._armed[(key, chosen)] = self._with_arms(found, key, chosen)
        return with_arms

    def _with_arms(self, base: Assembly, key: VariantKey, chosen: tuple) -> Assembly:
        if not chosen:
            return base
        return replace(base, key=replace(key, arms=chosen), fills=self.arms.fills_with(base.fills, chosen))

    # -- once per (segment, locale) -----------------------------------------------------
    def _relevant_groups(self, segment: Segment, locale: str) -> frozenset[str]:
        found = self._relevant.get((segment.id, locale))
        if found is None:
            slots = self._slot_candidates(segment, locale)
            found = frozenset(g for cands, _ in slots.values() for b in cands for g in b.product_groups)
            self._relevant[(segment.id, locale)] = found
        return found

    def _slot_candidates(self, segment: Segment, locale: str):
        key = (segment.id, locale)
        if key not in self._candidates:
            self._candidates[key] = {slot.name: self._candidates_for(slot, segment, locale)
                                     for slot in self.template.slots}
        return self._candidates[key]

    def _candidates_for(self, slot: Slot, segment: Segment, locale: str) -> tuple[list[Block], list[Rejection]]:
        default = self.content.audience.default_locale
        eligible: list[Block] = []
        rejected: list[Rejection] = []
        for block in self.content.blocks.values():
            if block.slot != slot.name or block.arm_of is not None:
                continue  # an arm goes in where its original is chosen (assemble)
            reason = self._why_not(block, slot, segment)
            if reason is None and block.locale not in (locale, default):
                reason = f"written in {block.locale}"
            if reason:
                rejected.append(Rejection(block.id, reason))
            else:
                eligible.append(block)
        # One version per story: the customer's locale, else the default locale.
        by_story: dict[str, Block] = {}
        for block in eligible:
            current = by_story.get(block.story)
            if current is None or (block.locale == locale and current.locale != locale):
                if current is not None:
                    rejected.append(Rejection(current.id, f"the {locale} version is used"))
                by_story[block.story] = block
            else:
                rejected.append(Rejection(block.id, f"the {current.locale} version is used"))
        ordered = sorted(by_story.values(), key=_order)
        return ordered, rejected

    def _why_not(self, block: Block, slot: Slot, segment: Segment) -> str | None:
        if block.team not in slot.teams:
            return f"team {block.team} may not fill {slot.name}"
        if block.story in self._fallback_stories:
            return "fallback only"
        if block.is_draft and not self.drafts:
            return "draft"
        if block.publish and self.date < block.publish:
            return f"not yet published (from {block.publish})"
        if block.expire and self.date >= block.expire:
            return f"expired ({block.expire})"
        if block.segments is not None and segment.id not in block.segments:
            return f"for other segments ({', '.join(sorted(block.segments))})"
        return None

    # -- once per variant ---------------------------------------------------------------
    def _assemble(self, key: VariantKey, segment: Segment, digest: Digest | None = None) -> Assembly:
        slots = self._slot_candidates(segment, key.locale)
        excluded = set(key.exclusions)
        fills, skip = [], None
        for slot in self.template.slots:
            candidates, rejected = slots[slot.name]
            rejected, ranked = list(rejected), ()
            if digest is not None:
                ranking = self.rankings.get(digest.name)
                measured = ranking.of(segment.id) if ranking is not None else {}
                candidates, ranked = in_digest_order(candidates, measured, digest, _order)
            chosen: list[Block] = []
            for block in candidates:
                hit = sorted(excluded.intersection(block.product_groups))
                if hit:
                    rejected.append(Rejection(block.id, f"excluded product group {', '.join(hit)}"))
                elif len(chosen) >= slot.max:
                    rejected.append(Rejection(block.id, f"over max ({slot.max})"))
                else:
                    chosen.append(block)
            used_fallback = False
            if not chosen and slot.fallback:
                fallback = self._fallback(slot.fallback, key.locale)
                if fallback is not None:
                    chosen, used_fallback = [fallback], True
            if not chosen and slot.required and skip is None:
                skip = f"required slot {slot.name} is empty"
            fills.append(SlotFill(slot, tuple(chosen), tuple(rejected), used_fallback, ranked))
        total = sum(len(f.chosen) for f in fills)
        if skip is None and total < self.template.min_blocks:
            skip = f"only {total} blocks, the template needs {self.template.min_blocks}"
        return Assembly(key, segment, tuple(fills), skip, digest)

    def _fallback(self, block_id: str, locale: str) -> Block | None:
        base = self.content.blocks.get(block_id)
        if base is None:
            return None
        translated = next((b for b in self.content.blocks.values()
                           if b.story == base.story and b.locale == locale), None)
        return translated or base


def _order(block: Block) -> tuple:
    # Highest priority first, then the freshest (latest publish), then id for a stable order.
    return (-block.priority, -(block.publish.toordinal() if block.publish else 0), block.id)
