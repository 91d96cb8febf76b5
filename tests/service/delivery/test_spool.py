"""The spool: one mbox file per batch, readable by Python's mailbox, published whole, and found
again by Message-ID after a crash (also through a real send run that dies at either point)."""

from __future__ import annotations

import mailbox
import os
from pathlib import Path

import pytest

from service.content.check import load_content
from service.delivery.base import SENT, BadTarget, Envelope
from service.delivery.registry import parse_target
from service.delivery.spool import SpoolDelivery, SpoolTarget
from service.sending import ledger
from service.sending.batch import BatchSender
from service.sending.plan import plan_run
from service.sending.spec import SendSpec
from send_fixtures import CONTENT, EDITION, add_customers, db_url, engine, migrated_postgres_url, settings_for  # noqa: F401

WRITES = pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "tmp-rename"])
KEY = ledger.EditionKey("weekly", EDITION)


def message(n: int, body: str = "Line one\r\n") -> Envelope:
    mid = f"<weekly.2026-11-23.{n:032x}@weekly.shop.example>"
    data = (f"From: news@shop.example\r\nTo: kunde{n}@example.com\r\nSubject: Hallo {n}\r\n"
            f"Message-ID: {mid}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}").encode()
    return Envelope("news@shop.example", f"kunde{n}@example.com", mid, data)


def batches(root: Path) -> list[str]:
    return sorted(n for n in os.listdir(root) if n.endswith(".mbox"))


def read_all(root: Path) -> list:
    found = []
    for name in batches(root):
        box = mailbox.mbox(root / name, create=False)
        found += list(box)
        box.close()
    return found


def test_the_target_parses():
    assert parse_target("spool:/var/spool/news") == SpoolTarget(Path("/var/spool/news"), "batch")
    assert parse_target("spool:x?fsync=none").fsync == "none"
    for bad in ("spool:", "spool:x?fsync=message"):
        with pytest.raises(BadTarget):
            parse_target(bad)


@WRITES
def test_a_batch_is_one_mbox_file_that_python_mailbox_reads(tmp_path, unnamed):
    spool = SpoolDelivery(tmp_path / "spool", unnamed_files=unnamed)
    tricky = "From the editors\r\n>From a quote\r\nLast line\r\n"
    for n in range(4):
        assert spool.deliver(message(n, tricky if n == 2 else "Line one\r\n")).state == SENT
    spool.flush()
    spool.deliver(message(4))
    spool.close()  # flushes the second batch
    assert len(batches(tmp_path / "spool")) == 2
    read = read_all(tmp_path / "spool")
    assert [m["To"] for m in read] == [f"kunde{n}@example.com" for n in range(5)]
    assert all(m.get_from().startswith("news@shop.example ") for m in read)
    # mboxrd: body lines starting with (>*)From get one more '>' and nothing else changes.
    assert read[2].get_payload() == ">From the editors\r\n>>From a quote\r\nLast line\r\n"
    assert read[0].get_payload() == "Line one\r\n"
    first = mailbox.mbox(tmp_path / "spool" / batches(tmp_path / "spool")[0], create=False)
    assert [first.get_bytes(k) for k in first.keys()][:2] == [message(0).data, message(1).data]  # byte for byte
    first.close()
    assert os.listdir(tmp_path / "spool" / "tmp") == []


@WRITES
def test_nothing_is_visible_before_the_batch_is_flushed(tmp_path, unnamed):
    spool = SpoolDelivery(tmp_path / "spool", unnamed_files=unnamed)
    spool.deliver(message(1))
    assert batches(tmp_path / "spool") == []
    assert not SpoolDelivery(tmp_path / "spool").has(message(1).message_id)
    spool.flush()
    assert len(batches(tmp_path / "spool")) == 1


def test_has_finds_flushed_messages_from_another_process_even_without_their_index(tmp_path):
    first = SpoolDelivery(tmp_path / "spool")
    for n in range(3):
        first.deliver(message(n))
    first.flush()
    for n in range(3, 5):
        first.deliver(message(n))
    first.flush()
    # Killed between the .mbox and its .ids: the mbox itself is read.
    (tmp_path / "spool" / (batches(tmp_path / "spool")[1][:-5] + ".ids")).unlink()
    other = SpoolDelivery(tmp_path / "spool")
    wanted = [message(n).message_id for n in (0, 4, 9)]
    assert other.held(wanted) == set(wanted[:2])
    assert all(other.has(message(n).message_id) for n in range(5))
    assert not other.has(message(9).message_id)
    first.deliver(message(9))  # written later by someone else: found on the next look
    first.flush()
    assert other.has(message(9).message_id)


# A send run that dies -------------------------------------------------------------------------

class _Died(Exception):
    pass


class _DiesAfterPublishing:
    """A spool whose worker is killed right after a batch is in the spool, before the ledger
    update."""

    def __init__(self, inner: SpoolDelivery):
        self.inner, self.record_every = inner, inner.record_every
        self.deliver, self.held, self.close = inner.deliver, inner.held, inner.close

    def flush(self):
        self.inner.flush()
        raise _Died()


class _DiesWhileWriting(_DiesAfterPublishing):
    def __init__(self, inner: SpoolDelivery, after: int):
        super().__init__(inner)
        self.left = after
        self.deliver = self._deliver

    def _deliver(self, envelope):
        if self.left == 0:
            raise _Died()
        self.left -= 1
        return self.inner.deliver(envelope)


@pytest.mark.parametrize("dies", ["after publishing", "while writing"])
def test_a_worker_killed_at_either_point_leaves_each_customer_exactly_one_message(engine, db_url, tmp_path, dies):
    ids = add_customers(engine, 30)
    content = load_content(CONTENT)
    root = tmp_path / "spool"
    spec = SendSpec(settings_for(db_url), "weekly", EDITION, f"spool:{root}", batch_size=12, lease=0.3)
    plan_run(engine, content, spec)
    dying = BatchSender(spec, "dying", engine=engine, content=content)
    dying.deliverer = (_DiesAfterPublishing(dying.deliverer) if dies == "after publishing"
                       else _DiesWhileWriting(dying.deliverer, after=5))
    with pytest.raises(_Died):
        dying.send_batch()
    assert len(read_all(root)) == (12 if dies == "after publishing" else 0)
    survivor = BatchSender(spec, "survivor", engine=engine, content=content)
    assert survivor.run_until_done() == 0  # waits out the lease, then takes the rows over
    survivor.close()
    recipients = sorted(m["To"] for m in read_all(root))
    assert recipients == sorted(f"Kunde{n} <kunde.{n}@example.com>" for n in ids)  # each once, none missing
    with engine.connect() as conn:
        found = ledger.deliveries_of(conn, KEY)
    assert {r.state for r in found} == {"sent"}
    recovered = [r for r in found if r.answer == "found at the destination after a crash"]
    assert len(recovered) == (12 if dies == "after publishing" else 0)


def test_only_an_envelope_that_says_it_has_no_from_line_is_written_unsearched(tmp_path):
    spool = SpoolDelivery(tmp_path / "spool")
    spool.deliver(message(1, "From the editors\r\n"))
    spool.deliver(Envelope(**{**message(2).__dict__, "from_lines": False}))
    spool.flush()
    first, second = read_all(tmp_path / "spool")
    assert first.get_payload() == ">From the editors\r\n" and second.get_payload() == "Line one\r\n"
