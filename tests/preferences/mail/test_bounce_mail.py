"""Reading bounce mailbox mail: DSNs (RFC 3464) and ARF complaints (RFC 5965) as remote servers
write them (tests/bounce_samples.py), and the malformed mail and prose a bounce mailbox also gets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bounce_samples import Rcpt, arf, dsn, headers_of, out_of_office, prose_bounce, sample_original
from preferences.mail.bounce_mail import read_bounce_mail, read_bounce_mails
from preferences.suppression.reports import Report
from preferences.suppression.tables import COMPLAINT, HARD, SOFT

VERP = "bounces+abcdefghijklmnopqrstuvwxyz-abcdefghijklmnop@nordhaus.example"
MID = "<weekly.2026-11-23.abc@nordhaus.example>"
ORIGINAL = sample_original("kunde.1@example.com", MID, VERP)


def one(raw: bytes) -> Report:
    reports = read_bounce_mail(raw)
    assert reports is not None and len(reports) == 1, reports
    return reports[0]


@pytest.mark.parametrize("returned", ["headers", "message"])
def test_a_hard_bounce_names_recipient_status_and_the_returned_message(returned):
    report = one(dsn(VERP, [Rcpt("Kunde.1@Example.com")], original=ORIGINAL, returned=returned))
    assert (report.kind, report.address, report.status, report.message_id) == (HARD, "kunde.1@example.com", "5.1.1", MID)
    assert VERP in report.return_paths
    assert "User unknown" in report.detail and "mx.mailbox.example" in report.detail
    assert report.reported_at == datetime(2026, 11, 24, 8, 30, tzinfo=timezone.utc)
    assert report.key == "mailbox:<dsn.1@mx.mailbox.example> kunde.1@example.com"


def test_a_dsn_that_returns_nothing_is_known_by_its_return_path_alone():
    report = one(dsn(VERP, [Rcpt("kunde.1@example.com")], returned=None))
    assert report.message_id is None and report.return_paths == (VERP,)


def test_the_return_path_may_be_only_where_the_report_was_delivered():
    report = one(dsn("bounces@nordhaus.example", [Rcpt("kunde.1@example.com")], returned=None, delivered_to=VERP))
    assert report.return_paths == (VERP,)


def test_a_multi_recipient_dsn_reports_each_failed_or_delayed_recipient():
    reports = read_bounce_mail(dsn(VERP, [
        Rcpt("a@example.com"),
        Rcpt("b@example.com", action="delayed", status="4.4.7", diagnostic=None),
        Rcpt("c@example.com", action="delivered", status="2.0.0", diagnostic=None),
        Rcpt("d@example.com", status="4.2.2", diagnostic="smtp; 452 4.2.2 Mailbox full"),
    ], original=ORIGINAL))
    assert [(r.address, r.kind, r.status) for r in reports] == [
        ("a@example.com", HARD, "5.1.1"), ("b@example.com", SOFT, "4.4.7"), ("d@example.com", SOFT, "4.2.2")]
    assert len({r.key for r in reports}) == 3 and {r.message_id for r in reports} == {MID}


def test_a_delay_is_soft_and_a_dsn_of_deliveries_needs_nothing():
    assert one(dsn(VERP, [Rcpt("a@example.com", action="delayed", status="4.4.1", diagnostic=None)])).kind == SOFT
    assert read_bounce_mail(dsn(VERP, [Rcpt("a@example.com", action="relayed", status="2.0.0")])) == []


@pytest.mark.parametrize("status, kind", [("5.1.1", HARD), ("5.1.10", HARD), ("5.2.1", HARD), ("5.0.0", HARD),
                                          ("5.7.1", SOFT), ("5.2.2", SOFT), ("5.3.4", SOFT), ("5.6.0", SOFT),
                                          ("4.7.0", SOFT), ("4.4.1", SOFT)])
def test_permanent_codes_about_the_message_or_the_sender_count_as_soft(status, kind):
    assert one(dsn(VERP, [Rcpt("a@example.com", status=status)])).kind == kind


def test_a_status_missing_is_read_from_the_diagnostic_code():
    report = one(dsn(VERP, [Rcpt("a@example.com", status=None, diagnostic="smtp; 550 mailbox unavailable")]))
    assert (report.kind, report.status) == (HARD, "5.0.0")
    unclear = one(dsn(VERP, [Rcpt("a@example.com", status="x", diagnostic=None)]))
    assert (unclear.kind, unclear.status) == (SOFT, None)  # a failure without a code never suppresses at once


def test_the_original_recipient_is_the_customer_when_the_mail_was_forwarded():
    report = one(dsn(VERP, [Rcpt("anna@forward.example", original="Anna@Shop.example")]))
    assert report.address == "anna@shop.example" and "final recipient anna@forward.example" in report.detail


def test_an_internationalized_dsn_sent_base64_is_read():
    report = one(dsn(VERP, [Rcpt("a@example.com")], returned=None, status_type="message/global-delivery-status",
                     status_encoding="base64"))
    assert (report.kind, report.address, report.status) == (HARD, "a@example.com", "5.1.1")


@pytest.mark.parametrize("returned", ["message", "headers", None])
def test_a_complaint_with_or_without_the_original(returned):
    report = one(arf("fbl@nordhaus.example", original=ORIGINAL, returned=returned, mail_from=VERP,
                     rcpt_to="kunde.1@example.com"))
    assert (report.kind, report.address, report.status) == (COMPLAINT, "kunde.1@example.com", None)
    assert report.message_id == (MID if returned else None)
    assert VERP in report.return_paths and "feedback type abuse" in report.detail


def test_a_complaint_whose_recipient_was_redacted_is_known_by_the_original():
    report = one(arf("fbl@nordhaus.example", original=ORIGINAL, returned="headers"))
    assert report.address == "kunde.1@example.com" and report.message_id == MID and VERP in report.return_paths
    bare = one(arf("fbl@nordhaus.example", returned=None, mail_from=VERP))
    assert bare.address is None and bare.return_paths[-1] == VERP and bare.key.endswith(" -")


def test_a_not_spam_feedback_needs_nothing():
    assert read_bounce_mail(arf("fbl@nordhaus.example", original=ORIGINAL, feedback_type="not-spam")) == []


def test_a_report_without_message_id_is_known_by_the_hash_of_its_bytes():
    raw = dsn(VERP, [Rcpt("a@example.com")], report_id=None)
    report = one(raw)
    assert report.key.startswith("mailbox:sha256:") and one(raw).key == report.key
    assert one(dsn(VERP, [Rcpt("a@example.com")], report_id=None, arrival="Wed, 25 Nov 2026 10:00:00 +0000")).key \
        != report.key


def test_a_report_dated_in_the_future_happened_now():
    report = one(dsn(VERP, [Rcpt("a@example.com", last_attempt=None)], arrival="Fri, 1 Jan 2100 00:00:00 +0000"))
    assert abs(report.reported_at - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_a_very_long_report_id_is_hashed_into_the_key():
    report = one(dsn(VERP, [Rcpt("a@example.com")], report_id="<" + "x" * 390 + "@mx.example>"))
    assert len(report.key) <= 400 and report.key.startswith("mailbox:sha256:")


MALFORMED = {
    "out of office": out_of_office(VERP),
    "bounce in prose": prose_bounce(VERP, "kunde.1@example.com"),
    "report without a status part": dsn(VERP, [Rcpt("a@example.com")], status_type="text/plain"),
    "status part without recipients": dsn(VERP, [], original=ORIGINAL),
    "recipient without an action": dsn(VERP, [Rcpt("a@example.com", action="")]),
    "feedback without a type": arf("fbl@x.example", original=ORIGINAL).replace(b"Feedback-Type: abuse\r\n", b""),
    "no boundary": dsn(VERP, [Rcpt("a@example.com")]).replace(b'boundary="BOUNDARY-1"', b""),
    "cut in the middle": dsn(VERP, [Rcpt("a@example.com")])[:400],
    "bytes": b"\xff\xfe\x00garbage\r\n\r\n\x80",
    "empty": b"",
    "headers of a message only": headers_of(ORIGINAL),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_mail_is_not_read(name):
    assert read_bounce_mail(MALFORMED[name]) is None


def test_many_mails_are_read_in_worker_processes_in_order():
    mails = [(f"k{n}", dsn(VERP, [Rcpt(f"r{n}@example.com")], report_id=f"<r{n}@mx>") if n % 3 else out_of_office(VERP))
             for n in range(2500)]
    parallel = list(read_bounce_mails(iter(mails), processes=2))
    assert parallel == list(read_bounce_mails(mails, processes=1))
    assert [key for key, _ in parallel] == [key for key, _ in mails]
    assert parallel[1][1][0].address == "r1@example.com" and parallel[0][1] is None


SAMPLES = [dsn(VERP, [Rcpt("a@example.com"), Rcpt("b@example.com", action="delayed", status="4.4.7")],
               original=ORIGINAL, returned="message"),
           arf("fbl@x.example", original=ORIGINAL, mail_from=VERP, rcpt_to="a@example.com")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES), st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 40), st.binary(max_size=12)),
                                          max_size=6))
def test_a_mangled_report_is_read_or_refused_never_an_error(sample, cuts):
    raw = bytearray(sample)
    for at, length, insert in cuts:
        at = at % (len(raw) + 1)
        raw[at:at + length] = insert
    found = read_bounce_mail(bytes(raw))
    assert found is None or all(isinstance(r, Report) and len(r.key) <= 400 for r in found)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_are_refused_never_an_error(raw):
    found = read_bounce_mail(b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n" + raw)
    assert found is None or isinstance(found, list)
