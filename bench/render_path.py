"""The send's per-recipient rendering path, shared by bench/render.py and bench/send.py (imported,
not run): synthetic customers, the fast path (variant lookup, then substitution + MIME), and the
timing helpers. bench/send.py measures it on one core beside the whole send, so the two rates
come from the same run."""

from __future__ import annotations

import base64
import gc
import os
import random
import time
from datetime import date, timedelta

from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.content.model import Content

TEMPLATE, EDITION = "weekly", date(2026, 11, 23)
FIRST_NAMES = ["Anna", "Jürgen", "Zoë", "Søren", "Łukasz", "Ana María", "François", "Mia", "O'Neil",
               "Jörg-Uwe", "Ævar", "王小明", "Александра", "Nguyễn Thị Hà", "Gülşen", "Björn", None]
BRANCHES = ["Hamburg", "Bremen", "Kiel", "München", "Köln", "Leipzig", "Dresden", "Rostock"]


# -- synthetic customers ---------------------------------------------------------------------

def synthetic_customers(content: Content, count: int, seed: int) -> list[Recipient]:
    """`count` customers with random values for every declared attribute (some left unset)."""
    rng = random.Random(seed)
    attributes = content.audience.attributes
    locales = content.audience.locales
    groups = sorted(content.product_groups)
    customers = []
    for n in range(count):
        values = {}
        for name, attribute in attributes.items():
            if rng.random() < 0.08:
                continue  # unset, as in a real CRM export
            values[name] = _random_value(rng, attribute)
        public_id = base64.urlsafe_b64encode(rng.getrandbits(132).to_bytes(17, "big")).decode()[:22]
        customers.append(Recipient(
            public_id=public_id, email=f"customer{n}@example.com", first_name=rng.choice(FIRST_NAMES),
            locale=rng.choice(locales), attributes=values,
            excluded_groups=frozenset(rng.sample(groups, rng.choice((0, 0, 0, 1, 1, 2)))), customer_id=n))
    return customers


def _random_value(rng: random.Random, attribute):
    kind = attribute.type
    if kind == "choice":
        return rng.choice(attribute.values)
    if kind == "flag":
        return rng.random() < 0.35
    if kind == "number":
        low = int(attribute.min) if attribute.min is not None else 0
        high = int(attribute.max) if attribute.max is not None else low + 20
        return rng.randint(low, high)
    if kind == "date":
        return (EDITION - timedelta(days=rng.randint(0, 500))).isoformat()
    return rng.choice(BRANCHES)


# -- the fast path (what the send does) --------------------------------------------------------

def fast_one(edition: Edition, renderer: Renderer, recipient: Recipient, when: str) -> bytes | None:
    assembly = edition.assembly_for(recipient)
    if assembly is None or assembly.skip_reason:
        return None
    return renderer.message(edition, renderer.variant(edition, assembly), recipient, when)


def lookup_one(edition: Edition, renderer: Renderer, recipient: Recipient):
    """The fast path without the message: which compiled variant this recipient gets."""
    assembly = edition.assembly_for(recipient)
    return None if assembly is None or assembly.skip_reason else renderer.variant(edition, assembly)


SEND_BATCH = 500  # SendSpec.batch_size's default


def in_send_order(edition: Edition, customers: list[Recipient], batch: int = SEND_BATCH) -> list[Recipient]:
    """``customers`` in the order a worker renders them: batch by batch, and within a batch grouped
    by variant (service/sending/batch.py), so one body's pieces are reused while they are warm."""
    ordered = []
    for start in range(0, len(customers), batch):
        groups: dict = {}
        for recipient in customers[start:start + batch]:
            assembly = edition.assembly_for(recipient)
            groups.setdefault(assembly.key if assembly is not None else None, []).append(recipient)
        for group in groups.values():
            ordered += group
    return ordered


def fast_path(edition: Edition, renderer: Renderer, customers: list[Recipient], when: str, repeat: int) -> dict:
    """The warm fast path over ``customers`` in the send's order (``in_send_order``), best of
    ``repeat`` runs each: the lookup alone, then lookup + substitution + MIME (wall and CPU time).
    Variants compile before the clock runs (one untimed pass)."""
    customers = in_send_order(edition, customers)
    sizes = [len(m) for m in (fast_one(edition, renderer, r, when) for r in customers) if m]

    def lookups():
        for r in customers:
            lookup_one(edition, renderer, r)

    cpu_times = []

    def messages():  # each message dropped at once, as a worker hands it over and drops it
        began = time.process_time()
        for r in customers:
            fast_one(edition, renderer, r, when)
        cpu_times.append(time.process_time() - began)

    lookup_times, full_times = best_of(repeat, lookups), best_of(repeat, messages)
    n = len(customers)
    lookup_us, fast_us = min(lookup_times) / n * 1e6, min(full_times) / n * 1e6
    return dict(recipients=n, messages=len(sizes), message_bytes=sum(sizes),
                lookup_us=lookup_us, fast_us=fast_us, full_times=full_times,
                recipients_per_s=n / min(full_times), messages_per_s=len(sizes) / min(full_times),
                messages_per_cpu_s=len(sizes) / min(cpu_times))


# -- measuring -------------------------------------------------------------------------------------

def timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def best_of(repeat: int, function) -> list[float]:
    """Wall times (s) of `repeat` runs of function()."""
    times = []
    for _ in range(repeat):
        gc.collect()
        elapsed, _ = timed(function)
        times.append(elapsed)
    return times


def pin_to_one_cpu() -> int | None:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return cpu
    except (AttributeError, OSError):
        return None
