"""Delivery: --to parsing, Maildir (readable by mailbox.Maildir, no duplicates on retry), and SMTP
against a real aiosmtpd relay on 127.0.0.1 (refusals, a busy relay, a dropped connection,
STARTTLS with AUTH, the pace)."""

from __future__ import annotations

import mailbox
import os
import shutil
import ssl
import subprocess
import time
from email import message_from_bytes
from pathlib import Path

import pytest

from service.delivery.base import DEFERRED, FAILED, SENT, BadTarget, Envelope
from service.delivery.maildir import MaildirTarget
from service.delivery.registry import parse_target
from service.delivery.smtp import SmtpTarget
from service.delivery.maildir import MaildirDelivery
from service.delivery.smtp import SmtpDelivery
from send_fixtures import Relay, free_port, smtp_relay  # noqa: F401


def message(n: int, to: str | None = None) -> Envelope:
    to = to or f"kunde{n}@example.com"
    data = (f"From: news@shop.example\r\nTo: {to}\r\nSubject: Hallo {n}\r\n"
            f"Message-ID: <weekly.2026-11-23.{n:032x}@weekly.shop.example>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nLine one\r\n.leading dot\r\n").encode()
    return Envelope("news@shop.example", to, f"<weekly.2026-11-23.{n:032x}@weekly.shop.example>", data)


# --to ------------------------------------------------------------------------------------------

def test_targets_are_parsed():
    assert parse_target("maildir:./outbox") == MaildirTarget(Path("outbox"), "batch")
    assert parse_target("maildir:/var/mail/x?fsync=none").fsync == "none"
    smtp = parse_target("smtp://user%40x:p%3Ass@relay.example:2525?starttls=1&rate=700&verify=0")
    assert smtp == SmtpTarget("relay.example", 2525, "user@x", "p:ss", starttls=True, verify=False, rate=700.0)
    assert str(smtp) == "smtp://user@x@relay.example:2525"  # never the password
    assert parse_target("smtps://relay.example").port == 465
    assert parse_target("smtp://relay.example").port == 25


@pytest.mark.parametrize("bad", ["outbox", "maildir:", "maildir:x?fsync=sometimes", "http://x",
                                 "smtp://", "smtp://h?rate=0", "smtp://h?speed=1", "smtp://h?rate=fast"])
def test_bad_targets_are_refused(bad):
    with pytest.raises(BadTarget):
        parse_target(bad)


def test_a_bad_target_does_not_show_the_password():
    with pytest.raises(BadTarget) as caught:
        parse_target("smtp://me:secret@h?rate=fast")
    assert "secret" not in str(caught.value)


# Maildir ---------------------------------------------------------------------------------------

# Both ways of writing a file: an unnamed file linked into new/ (Linux), and tmp/ + rename.
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

def relay_at(port: int, **options) -> SmtpDelivery:
    return SmtpDelivery(SmtpTarget("127.0.0.1", port, timeout=5), backoff=0.01, **options)


def test_messages_go_over_one_connection(smtp_relay):
    relay, port = smtp_relay
    smtp = relay_at(port)
    results = [smtp.deliver(message(n)) for n in range(20)]
    smtp.close()
    assert {r.state for r in results} == {SENT}
    assert results[0].answer.startswith("250")
    assert smtp.connections == 1
    assert relay.recipients() == [f"kunde{n}@example.com" for n in range(20)]
    # Dot-stuffing went both ways: the body arrives as written.
    assert b"\r\n.leading dot\r\n" in relay.messages[0][2]


def test_a_5xx_refusal_fails_that_recipient_alone(smtp_relay):
    relay, port = smtp_relay
    relay.refuse["kunde2@example.com"] = "550 5.1.1 No such user here"
    smtp = relay_at(port)
    results = [smtp.deliver(message(n)) for n in range(4)]
    smtp.close()
    assert [r.state for r in results] == [SENT, SENT, FAILED, SENT]
    assert results[2].answer == "550 5.1.1 No such user here (RCPT TO)"
    assert relay.recipients() == ["kunde0@example.com", "kunde1@example.com", "kunde3@example.com"]


def test_a_busy_relay_is_retried_with_backoff(smtp_relay):
    relay, port = smtp_relay
    relay.busy_for = 3  # 452 three times
    waits = []
    smtp = SmtpDelivery(SmtpTarget("127.0.0.1", port, timeout=5), backoff=0.01, sleep=lambda s: waits.append(s))
    results = [smtp.deliver(message(n)) for n in range(3)]
    smtp.close()
    assert [r.state for r in results] == [SENT, SENT, SENT]
    assert waits == [0.01, 0.02, 0.04]  # exponential
    assert relay.recipients() == [f"kunde{n}@example.com" for n in range(3)]


def test_a_relay_busy_for_too_long_defers_the_message(smtp_relay):
    relay, port = smtp_relay
    relay.busy_for = 100
    smtp = relay_at(port, retries=2)
    result = smtp.deliver(message(1))
    smtp.close()
    assert result.state == DEFERRED and result.answer.startswith("452 4.3.1")
    assert relay.messages == []


def test_a_dropped_connection_is_reopened_and_nothing_is_lost_or_doubled(smtp_relay):
    relay, port = smtp_relay
    relay.drop_after = 5  # the relay hangs up in the middle of the sixth message
    smtp = relay_at(port)
    results = [smtp.deliver(message(n)) for n in range(12)]
    smtp.close()
    assert {r.state for r in results} == {SENT}
    assert smtp.connections == 2
    assert relay.recipients() == [f"kunde{n}@example.com" for n in range(12)]


def test_an_unreachable_relay_defers(tmp_path):
    smtp = relay_at(free_port(), retries=1)
    result = smtp.deliver(message(1))
    assert result.state == DEFERRED and result.answer.startswith("connection:")


def test_the_pace_is_held():
    slept, now = [], [100.0]
    smtp = SmtpDelivery(SmtpTarget("127.0.0.1", 1), rate=10, sleep=lambda s: (slept.append(s), _advance(now, s)),
                        clock=lambda: now[0])
    for _ in range(5):
        smtp._pace()
    assert slept == pytest.approx([0.1, 0.1, 0.1, 0.1])


def _advance(now, seconds):
    now[0] += seconds


def test_the_rate_is_shared_by_the_workers(smtp_relay):
    relay, port = smtp_relay
    smtp = parse_target(f"smtp://127.0.0.1:{port}?rate=40").open(share=2)  # 20/s each
    start = time.monotonic()
    for n in range(6):
        assert smtp.deliver(message(n)).state == SENT
    smtp.close()
    assert time.monotonic() - start >= 0.24  # 5 intervals of 50 ms


@pytest.fixture
def tls_relay(tmp_path):
    """A relay that offers STARTTLS and AUTH (only over TLS), with a self-signed certificate."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        # handled=False: aiosmtpd answers the refusal itself (535) instead of leaving it to us.
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"newsletter", b"s3cret"),
                          handled=False)

    relay, port = Relay(), free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    controller.start()
    yield relay, port
    controller.stop()


def test_starttls_and_auth(tls_relay):
    relay, port = tls_relay
    smtp = parse_target(f"smtp://newsletter:s3cret@127.0.0.1:{port}?starttls=1&verify=0").open()
    assert smtp.deliver(message(1)).state == SENT
    smtp.close()
    assert relay.recipients() == ["kunde1@example.com"]


def test_wrong_credentials_defer_without_hammering_the_relay(tls_relay):
    relay, port = tls_relay
    smtp = parse_target(f"smtp://newsletter:wrong@127.0.0.1:{port}?starttls=1&verify=0").open()
    result = smtp.deliver(message(1))
    assert result.state == DEFERRED and "AUTH" in result.answer
    assert relay.messages == []


def test_without_starttls_the_relay_refuses(tls_relay):
    relay, port = tls_relay
    smtp = SmtpDelivery(SmtpTarget("127.0.0.1", port, timeout=5), retries=0)
    result = smtp.deliver(message(1))
    smtp.close()
    assert result.state == FAILED and result.answer.startswith("530")


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
