"""Maildir: readable by mailbox.Maildir, no duplicates on retry, nothing left by killed writers."""

from __future__ import annotations

import mailbox
import os
import time
from email import message_from_bytes

import pytest

from service.delivery.base import SENT
from service.delivery.maildir import MaildirDelivery
from service.delivery.smtp import SmtpTarget
from envelopes import message


WRITES = pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "tmp-rename"])


@WRITES
@pytest.mark.parametrize("fsync", ["none", "batch", "message"])
def test_maildir_is_readable_by_python_mailbox(tmp_path, fsync, unnamed):
    box = MaildirDelivery(tmp_path / "outbox", fsync, unnamed_files=unnamed)
    for n in range(5):
        assert box.deliver(message(n)).state == SENT
    box.flush()
    box.close()
    assert sorted(os.listdir(tmp_path / "outbox")) == ["cur", "new", "tmp"]
    assert os.listdir(tmp_path / "outbox" / "tmp") == []
    read = mailbox.Maildir(tmp_path / "outbox", create=False)
    assert sorted(m["To"] for m in read) == [f"kunde{n}@example.com" for n in range(5)]
    assert all(m.get_payload().startswith("Line one") for m in read)
    assert all(oct(os.stat(tmp_path / "outbox" / "new" / n).st_mode)[-3:] == "640"
               for n in os.listdir(tmp_path / "outbox" / "new"))


@WRITES
def test_a_repeated_delivery_finds_its_file_and_writes_nothing(tmp_path, unnamed):
    box = MaildirDelivery(tmp_path / "outbox", unnamed_files=unnamed)
    first = box.deliver(message(1))
    name = MaildirDelivery.file_name(message(1).message_id)
    assert first.answer == f"new/{name}" and ":" not in name and "/" not in name
    # A retry after a crash between the rename and the ledger update (another process, even).
    again = MaildirDelivery(tmp_path / "outbox", unnamed_files=unnamed).deliver(message(1))
    assert again.state == SENT and again.answer.startswith("already in new/")
    assert os.listdir(tmp_path / "outbox" / "new") == [name]
    assert os.listdir(tmp_path / "outbox" / "tmp") == []
    assert message_from_bytes((tmp_path / "outbox" / "new" / name).read_bytes())["To"] == "kunde1@example.com"


def test_file_names_are_safe_and_distinct():
    names = {MaildirDelivery.file_name(f"<a/b:{n}@x>") for n in range(3)}
    assert len(names) == 3 and not any(":" in n or "/" in n for n in names)


# SMTP ------------------------------------------------------------------------------------------

@WRITES
def test_has_finds_a_message_in_new_or_read_in_cur(tmp_path, unnamed):
    box = MaildirDelivery(tmp_path / "outbox", unnamed_files=unnamed)
    assert not box.has(message(1).message_id)
    box.deliver(message(1))
    assert box.has(message(1).message_id)
    name = MaildirDelivery.file_name(message(1).message_id)
    os.rename(tmp_path / "outbox" / "new" / name, tmp_path / "outbox" / "cur" / f"{name}:2,S")  # read
    assert box.has(message(1).message_id)
    assert not SmtpTarget("127.0.0.1", 1).open().has(message(1).message_id)  # SMTP cannot tell


def test_leftovers_of_killed_writers_are_cleaned_from_tmp_after_36_hours(tmp_path):
    (tmp_path / "outbox" / "tmp").mkdir(parents=True)
    old, fresh = tmp_path / "outbox" / "tmp" / "old.123", tmp_path / "outbox" / "tmp" / "fresh.456"
    old.write_bytes(b"half a mess")
    fresh.write_bytes(b"being written")
    os.utime(old, (time.time() - 37 * 3600,) * 2)
    MaildirDelivery(tmp_path / "outbox")
    assert not old.exists() and fresh.exists()
