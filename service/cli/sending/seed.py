"""Test sends to seed addresses (``newsletter send --test-to``): real variants, rendered as for
real customers, delivered to the addresses given instead of the customers, and nothing else.

As the big platforms' test sends: the ledger is not touched (no run, no delivery row), so a test
send neither counts as the edition's delivery to anyone nor starts the edition for ``send --due``;
the subject starts with "[TEST] "; and the personal links do not act on the customer whose data
filled the mail (they are signed for a test id that matches nobody), so a seed reader who clicks
"unsubscribe" unsubscribes nobody.

The sample: the customers chosen by external id, or else the first active customers of as many
distinct variants as asked (one customer each), found among the first ``SCAN`` customers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import Engine

from preferences.links import LinkSigner
from preferences.store import customer_send_row, iter_send_candidates

from service.assembly.edition import Edition
from service.assembly.mime import message_id
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer, date_header
from service.content.model import Content
from service.delivery.base import Envelope
from service.delivery.registry import parse_target
from service.sending.spec import NO_SEGMENT
from service.settings import Settings

SUBJECT_PREFIX = "[TEST] "
TEST_PUBLIC_ID = "TestSendTestSendTest00"  # signs the links: no customer has it
SCAN = 20_000  # customers looked at for a sample of distinct variants


@dataclass(frozen=True)
class SeedMail:
    """One test mail: whose data filled it, which variant, to which seed address, and the answer."""

    customer: str  # the customer's external id, or "#id" for a sampled one
    variant: str | None
    to: str
    state: str  # delivery.base SENT, FAILED or DEFERRED; "not sent" when the customer gets nothing
    answer: str


def seed_sample(engine: Engine, content: Content, template: str, day: date, *,
                customers: tuple[str, ...] = (), variants: int = 3,
                experiment_key: bytes | None = None) -> list[tuple[str, object]]:
    """(label, send row of preferences.store) of the customers a test send renders for: the
    chosen ones (external ids; an unknown one is a ValueError), or one customer each of up to
    ``variants`` distinct variants (arms of experiments told apart with ``experiment_key``)."""
    with engine.connect() as conn:
        if customers:
            rows = [customer_send_row(conn, external_id=external) for external in customers]
            unknown = [external for external, row in zip(customers, rows) if row is None]
            if unknown:
                raise ValueError(f"no customer with external id {', '.join(map(repr, unknown))}")
            return list(zip(customers, rows))
        edition = Edition(content, content.templates[template], day, experiment_key=experiment_key)
        chosen: dict = {}
        after = 0
        while len(chosen) < variants and after < SCAN:
            batch = list(iter_send_candidates(conn, after, 2000))
            if not batch:
                break
            for row in batch:
                assembly, _ = _assembly(edition, row)
                if assembly is not None and assembly.key not in chosen:
                    chosen[assembly.key] = (f"#{row.id}", row)
                    if len(chosen) == variants:
                        break
            after = batch[-1].id
        return list(chosen.values())


def _assembly(edition: Edition, row):
    """The customer's assembly as the send would make it, whatever their status and pace (a test
    shows the mail they would get), or None and why it cannot be sent."""
    segment = edition.segment_for(row.attributes or {}, row.locale)
    if segment is None:
        return None, NO_SEGMENT
    customer = row.public_id if edition.arms.key is not None else None  # with their arms
    assembly = edition.assemble(segment, row.locale, row.excluded_groups or (), customer=customer)
    return (None, assembly.skip_reason) if assembly.skip_reason else (assembly, None)


def send_seeds(settings: Settings, content: Content, template: str, day: date, target: str,
               addresses: tuple[str, ...], sample: list[tuple[str, object]]) -> list[SeedMail]:
    """Render each sampled customer's variant as their mail and deliver it to every seed address."""
    edition = Edition(content, content.templates[template], day, experiment_key=settings.experiment_key)
    renderer = Renderer(LinkSigner(settings.link_keys), settings.base_url, settings.unsubscribe_mailto)
    run_id = f"{template}/{day.isoformat()}/test-{uuid.uuid4().hex[:12]}"  # Message-IDs of this test only
    # Bounces of seed addresses go to the bounce mailbox too, naming no customer.
    sender, stamp = settings.bounce_address, date_header()
    deliverer = parse_target(target).open()
    sent: list[SeedMail] = []
    try:
        for label, row in sample:
            assembly, reason = _assembly(edition, row)
            if assembly is None:
                sent.extend(SeedMail(label, None, to, "not sent", reason or "") for to in addresses)
                continue
            variant = renderer.for_recipient(edition, assembly, Recipient.from_row(row))
            variant = replace(variant, mime=variant.mime.with_subject_prefix(SUBJECT_PREFIX))
            for to in addresses:
                recipient = replace(Recipient.from_row(row), email=to, public_id=TEST_PUBLIC_ID)
                mid = message_id(f"{run_id}/{len(sent)}", TEST_PUBLIC_ID, edition.template.list_id)
                data = renderer.message(edition, variant, recipient, stamp, mid)
                result = deliverer.deliver(Envelope(sender, to, mid, data))
                sent.append(SeedMail(label, assembly.key.label(), to, result.state, result.answer or ""))
        deliverer.flush()
    finally:
        deliverer.close()
    return sent
