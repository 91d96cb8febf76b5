"""SMTP against a real aiosmtpd relay on 127.0.0.1: refusals, a busy relay, a dropped connection,
STARTTLS with AUTH, the pace."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time

import pytest

from service.delivery.base import DEFERRED, FAILED, SENT
from service.delivery.registry import parse_target
from service.delivery.smtp import RelayUnreachable, SmtpDelivery, SmtpTarget
from send_fixtures import Relay, free_port, smtp_relay  # noqa: F401
from envelopes import message


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


def test_a_relay_busy_at_mail_from_is_retried_with_backoff(smtp_relay):
    relay, port = smtp_relay
    relay.mail_busy_for = 3  # 451 to MAIL FROM three times: the relay's trouble, not a recipient's
    waits = []
    smtp = SmtpDelivery(SmtpTarget("127.0.0.1", port, timeout=5), backoff=0.01, sleep=lambda s: waits.append(s))
    results = [smtp.deliver(message(n)) for n in range(3)]
    smtp.close()
    assert [r.state for r in results] == [SENT, SENT, SENT]
    assert waits == [0.01, 0.02, 0.04]  # exponential
    assert relay.recipients() == [f"kunde{n}@example.com" for n in range(3)]


def test_a_relay_busy_for_too_long_defers_the_message(smtp_relay):
    relay, port = smtp_relay
    relay.mail_busy_for = 100
    smtp = relay_at(port, retries=2)
    result = smtp.deliver(message(1))
    smtp.close()
    assert result.state == DEFERRED and not result.recipient_only
    assert result.answer == "451 4.3.0 Mail server temporarily rejected message (MAIL FROM)"
    assert relay.messages == []


def test_a_4xx_to_one_rcpt_defers_that_recipient_alone_and_the_connection_goes_on(smtp_relay):
    relay, port = smtp_relay
    relay.greylist["kunde2@example.com"] = 1
    waits = []
    smtp = SmtpDelivery(SmtpTarget("127.0.0.1", port, timeout=5), backoff=0.01, sleep=lambda s: waits.append(s))
    results = [smtp.deliver(message(n)) for n in range(5)]
    smtp.close()
    assert [r.state for r in results] == [SENT, SENT, DEFERRED, SENT, SENT]
    assert results[2].recipient_only and results[2].answer == "451 4.7.1 greylisted, try again later (RCPT TO)"
    assert waits == [] and smtp.connections == 1 and len(set(relay.peers)) == 1  # no pause, one connection
    assert relay.rsets == 1  # the deferred transaction was reset, not left open
    assert relay.recipients() == [f"kunde{n}@example.com" for n in (0, 1, 3, 4)]


def test_a_4xx_at_the_end_of_data_defers_that_recipient_alone(smtp_relay):
    relay, port = smtp_relay
    relay.data_defer["kunde1@example.com"] = 1
    smtp = relay_at(port)
    results = [smtp.deliver(message(n)) for n in range(3)]
    smtp.close()
    assert [r.state for r in results] == [SENT, DEFERRED, SENT]
    assert results[1].recipient_only
    assert results[1].answer == "451 4.3.0 queue full for this mailbox, try later (end of DATA)"
    assert smtp.connections == 1
    assert relay.recipients() == ["kunde0@example.com", "kunde2@example.com"]


def test_a_421_still_backs_off_the_connection(smtp_relay):
    relay, port = smtp_relay
    relay.closing.add("kunde1@example.com")  # 421 at its RCPT, and the relay hangs up
    waits = []
    smtp = SmtpDelivery(SmtpTarget("127.0.0.1", port, timeout=5), backoff=0.01, sleep=lambda s: waits.append(s))
    results = [smtp.deliver(message(n)) for n in range(3)]
    smtp.close()
    assert [r.state for r in results] == [SENT, SENT, SENT]  # the 421 was retried, on a new connection
    assert waits == [0.01] and smtp.connections == 2
    assert relay.recipients() == [f"kunde{n}@example.com" for n in range(3)]
    relay.closing.add("kunde1@example.com")
    always = relay_at(port, retries=0)
    result = always.deliver(message(1))
    always.close()
    assert result.state == DEFERRED and not result.recipient_only  # the relay's trouble: back off
    assert result.answer.startswith("421 4.7.0 closing")


def test_a_dropped_connection_is_reopened_and_nothing_is_lost_or_doubled(smtp_relay):
    relay, port = smtp_relay
    relay.drop_after = 5  # the relay hangs up in the middle of the sixth message
    smtp = relay_at(port)
    results = [smtp.deliver(message(n)) for n in range(12)]
    smtp.close()
    assert {r.state for r in results} == {SENT}
    assert smtp.connections == 2
    assert relay.recipients() == [f"kunde{n}@example.com" for n in range(12)]


def test_an_unreachable_relay_defers_with_the_reason_in_words(tmp_path):
    port = free_port()
    smtp = relay_at(port, retries=1)
    result = smtp.deliver(message(1))
    assert result.state == DEFERRED
    assert result.answer == f"connection refused by 127.0.0.1:{port} (nothing listens there)"


# -- the check before a send (issue 10.14, 10.15) ---------------------------------------------
def test_the_check_names_a_refused_connection():
    port = free_port()
    with pytest.raises(RelayUnreachable) as caught:
        SmtpTarget("127.0.0.1", port, timeout=5).check()
    assert caught.value.reason == f"connection refused by 127.0.0.1:{port} (nothing listens there)"
    assert caught.value.target == f"smtp://127.0.0.1:{port}"


def test_the_check_names_a_host_that_does_not_exist():
    with pytest.raises(RelayUnreachable) as caught:
        SmtpTarget("relay.newsletter.invalid", 25, timeout=5).check()
    assert caught.value.reason.startswith("the host name relay.newsletter.invalid was not found (DNS")


def test_the_check_names_a_relay_without_starttls(smtp_relay):
    relay, port = smtp_relay  # a plain relay: no STARTTLS offered
    with pytest.raises(RelayUnreachable) as caught:
        parse_target(f"smtp://127.0.0.1:{port}?starttls=1").check()
    assert caught.value.reason.startswith("the relay does not offer STARTTLS")
    # and so does a message sent that way, not "the relay stayed unreachable"
    smtp = parse_target(f"smtp://127.0.0.1:{port}?starttls=1").open()
    result = smtp.deliver(message(1))
    assert result.state == DEFERRED and result.answer.startswith("the relay does not offer STARTTLS")
    assert relay.messages == []


def test_the_check_names_an_untrusted_certificate_and_refused_credentials(tls_relay):
    relay, port = tls_relay
    with pytest.raises(RelayUnreachable) as caught:
        parse_target(f"smtp://newsletter:s3cret@127.0.0.1:{port}?starttls=1").check()
    assert caught.value.reason.startswith("TLS: the relay's certificate is not trusted")
    with pytest.raises(RelayUnreachable) as caught:
        parse_target(f"smtp://newsletter:wrong@127.0.0.1:{port}?starttls=1&verify=0").check()
    assert caught.value.reason.startswith("authentication refused: 535")
    parse_target(f"smtp://newsletter:s3cret@127.0.0.1:{port}?starttls=1&verify=0").check()  # fine
    assert relay.messages == []


def test_the_check_of_a_working_relay_sends_nothing(smtp_relay):
    relay, port = smtp_relay
    parse_target(f"smtp://127.0.0.1:{port}").check()
    assert relay.messages == [] and relay.rcpts == 0


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
