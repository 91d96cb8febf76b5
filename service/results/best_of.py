"""The ranking of a best-of edition (template.yaml's ``digest:``): per segment and story, the
unique click rate in the weekly editions of the window, read from the rollups.

``click_rates_by_segment_and_block`` is the one query: per segment and block, the unique
clickers (``result_click``, by block: human clicks only, unique per edition, segment and
variant) over the recipients whose clicks were measured and whose variant held the block
(``variant_block`` x ``result_audience``'s ``measured``), summed over the window's editions. The
digests' own variants (label ``... (best of 4w)``) are left out: a best-of edition must not rank
what it chose itself. A customer is in one segment and variant per edition, so the sums are
exact. ``measure_rankings`` folds the blocks into stories (the translations of one story, and
the arms of an experiment with its original, compete as one) and leaves out what cannot be
measured (untracked blocks, blocks no longer in the content). Deciding and keeping the ranking
for a send is service/sending/digests.py's; applying it, service/assembly/digest.py's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, and_, func, select

from preferences.database import for_writes
from service.assembly.digest import Measured, Ranking, window
from service.assembly.tracking import LAYOUT
from service.content.model import Content, Digest
from service.results.tables import BLOCK, DELIVERED, MEASURED, result_audience, result_click
from service.sending.contents import variant_block
from service.sending.digests import decide_rankings, decided_rankings

DIGEST_MARK = "% (best of %"  # LIKE pattern of a digest variant's label (VariantKey.label)


@dataclass(frozen=True)
class BlockRate:
    segment: str
    block: str
    clickers: int
    recipients: int


def click_rates_by_segment_and_block(conn: Connection, template: str, first: date, last: date) -> list[BlockRate]:
    """Per segment and block, unique clickers and measured recipients over the weekly editions
    of ``template`` from ``first`` to ``last`` (the digests' own variants left out)."""
    vb, a, r = variant_block.c, result_audience.c, result_click.c
    held = and_(vb.template == template, vb.edition_date.between(first, last), vb.owner != LAYOUT,
                vb.variant.not_like(DIGEST_MARK))
    reach = (select(a.segment, vb.owner.label("block"), func.sum(a.customers).label("recipients"))
             .join_from(variant_block, result_audience, and_(a.template == vb.template,
                                                            a.edition_date == vb.edition_date,
                                                            a.variant == vb.variant))
             .where(held, a.measure == MEASURED, a.key == "")
             .group_by(a.segment, vb.owner).subquery())
    clicked = (select(r.segment, r.key.label("block"), func.sum(r.clickers).label("clickers"))
               .where(r.template == template, r.edition_date.between(first, last), r.dimension == BLOCK,
                      r.variant.not_like(DIGEST_MARK))
               .group_by(r.segment, r.key).subquery())
    rows = conn.execute(
        select(reach.c.segment, reach.c.block, func.coalesce(clicked.c.clickers, 0), reach.c.recipients)
        .join_from(reach, clicked, and_(clicked.c.segment == reach.c.segment, clicked.c.block == reach.c.block),
                   isouter=True)
        .order_by(reach.c.segment, reach.c.block))
    return [BlockRate(segment, block, int(clickers), int(recipients)) for segment, block, clickers, recipients in rows]


def editions_in(conn: Connection, template: str, first: date, last: date) -> tuple[date, ...]:
    """The editions of the window that have results."""
    a = result_audience.c
    return tuple(conn.execute(select(a.edition_date).where(a.template == template, a.measure == DELIVERED,
                                                           a.edition_date.between(first, last))
                              .distinct().order_by(a.edition_date)).scalars())


def measure_ranking(conn: Connection, content: Content, template: str, digest: Digest, day: date) -> Ranking:
    """The digest's ranking for the edition of ``day``, as the results say now."""
    first, last = window(digest, day)
    found: dict = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    measured_template = content.templates[template].tracking
    for rate in click_rates_by_segment_and_block(conn, template, first, last) if measured_template else ():
        block = content.blocks.get(rate.block)
        if block is None or not block.tracking:
            continue  # gone from the content, or its clicks are not counted: nothing to rank it by
        pair = found[rate.segment][block.arm_of or block.story]
        pair[0] += rate.clickers
        pair[1] += rate.recipients
    segments = {segment: {story: Measured(*pair) for story, pair in stories.items()}
                for segment, stories in found.items()}
    return Ranking(digest.name, first, last, editions_in(conn, template, first, last), segments)


def rankings_for(conn: Connection, content: Content, template: str, day: date) -> dict[str, Ranking]:
    """The edition's rankings as ``plan`` and ``preview`` show them: the ones a send decided,
    else measured now (nothing is written)."""
    decided = decided_rankings(conn, template, day)
    return {d.name: decided.get(d.name) or measure_ranking(conn, content, template, d, day)
            for d in content.templates[template].digests}


def decide_for_send(engine: Engine, content: Content, template: str, day: date) -> dict[str, Ranking]:
    """Before a send's workers start: measure and keep the edition's rankings, where no earlier
    run of the edition decided them (a resumed run keeps the first decision)."""
    digests = content.templates[template].digests
    if not digests:
        return {}
    with for_writes(engine).begin() as conn:
        decided = decided_rankings(conn, template, day)
        measured = {d.name: measure_ranking(conn, content, template, d, day) for d in digests if d.name not in decided}
        return decide_rankings(conn, template, day, measured)
