"""``digest:`` of a template.yaml: the best-of editions for readers of a slower pace.

A customer who chose "monthly" (or "every two weeks") on a weekly newsletter gets, on the
editions they are due, the blocks that did best in their segment over the last weeks' editions
instead of an arbitrary week's: what one entry declares. The ranking itself is measured from
the results (service/results/best_of.py) and applied by the assembly (service/assembly/digest.py).

    digest: {for: [monthly], window: 4w, rank: click_rate, min_recipients: 200}
    digest:                      # or one entry per pace
      - {for: [monthly], window: 4w}
      - {for: [biweekly], window: 2w}
"""

from __future__ import annotations

import re
from types import MappingProxyType

from preferences.models import Frequency

from service.content.model import Digest
from service.content.reading.field_reader import FieldReader
from service.content.reading.yaml_lines import LinedList
from service.content.schedule import Schedule

DIGEST_KEYS = ("for", "window", "rank", "min_recipients")
RANKS = ("click_rate",)  # unique clickers over the recipients whose clicks were measured
# The slower paces a digest can be for: a weekly reader gets every edition as it is.
PACES = tuple(f.value for f in Frequency if f is not Frequency.WEEKLY)
_WINDOW = re.compile(r"^(\d{1,2})w$")
MAX_WEEKS = 12
DEFAULT_MIN_RECIPIENTS = 200


def read_digests(reader: FieldReader, schedule: Schedule, sent_on_event: bool) -> tuple[Digest, ...]:
    """The template's digests (none without the key), with every mistake reported at its line."""
    if not reader.has("digest"):
        if "digest" in reader.data:
            reader.error("digest", "'digest' has no value: write one entry {for: [monthly], window: 4w} "
                                   "or a list of them, or leave the key out")
        return ()
    raw = reader.raw("digest")
    if sent_on_event or schedule.cadence != "weekly":
        what = "sent on an event" if sent_on_event else f"a {schedule.cadence} cadence"
        reader.error("digest", f"a digest is for the readers of a weekly newsletter who chose a slower "
                               f"pace; this template has {what} (schedule: cadence: weekly)")
        return ()
    entries = list(raw) if isinstance(raw, list) else [raw]
    digests: list[Digest] = []
    taken: dict[str, int] = {}
    for index, entry in enumerate(entries):
        line = raw.line_of(index) if isinstance(raw, LinedList) else reader.line("digest")
        found = _read_one(FieldReader(entry, reader.problems, reader.path, line,
                                      "digest entry {for, window, rank, min_recipients}"), taken)
        if found is not None:
            digests.append(found)
    return tuple(digests)


def _read_one(entry: FieldReader, taken: dict[str, int]) -> Digest | None:
    if not entry.ok:
        return None
    entry.only(DIGEST_KEYS)
    paces = []
    for pace, at in entry.text_list("for") or []:
        if pace not in PACES:
            why = " (weekly readers get every edition as it is)" if pace == Frequency.WEEKLY else ""
            entry.problems.error(entry.path, at, f"digest for {pace!r}: one of {', '.join(PACES)}{why}")
        elif pace in taken:
            entry.problems.error(entry.path, at, f"digest for {pace!r} is declared twice "
                                                 f"(first at line {taken[pace]})")
        else:
            taken[pace] = at
            paces.append(pace)
    if not entry.has("for"):
        entry.error(None, f"a digest needs 'for: [...]': the paces it is for ({', '.join(PACES)})")
    weeks = _weeks(entry)
    rank = entry.text("rank", RANKS[0]) or RANKS[0]
    if rank not in RANKS:
        entry.error("rank", f"rank {rank!r}: one of {', '.join(RANKS)}")
        rank = RANKS[0]
    minimum = entry.integer("min_recipients", DEFAULT_MIN_RECIPIENTS, minimum=0)
    if not paces or weeks is None:
        return None
    return Digest(tuple(paces), weeks, rank, minimum, MappingProxyType(dict(entry.lines())))


def _weeks(entry: FieldReader) -> int | None:
    raw = entry.raw("window")
    if raw is None:
        entry.error(None if "window" not in entry.data else "window",
                    "a digest needs 'window: 4w': how many weeks of editions it ranks")
        return None
    match = _WINDOW.match(raw.strip()) if isinstance(raw, str) else None
    weeks = int(match.group(1)) if match else 0
    if not 1 <= weeks <= MAX_WEEKS:
        entry.error("window", f"window {raw!r} must be a number of weeks from 1w to {MAX_WEEKS}w, like 4w")
        return None
    return weeks
