"""Bounce and complaint mails as remote servers write them, by hand after the RFCs: delivery
status notifications (RFC 3464, examples of its appendix), feedback-loop reports (RFC 5965,
the example of its appendix B), and what else lands in a bounce mailbox.

``dsn`` and ``arf`` return the bytes of one report mail (CRLF line ends, as a mail server
stores them), about ``original``: a sent message's bytes (its headers are quoted from it).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

REPORTER = "mx.mailbox.example"
DATE = "Tue, 24 Nov 2026 09:30:00 +0100"


@dataclass(frozen=True)
class Rcpt:
    """One per-recipient block of a DSN."""

    final: str
    action: str = "failed"
    status: str | None = "5.1.1"
    diagnostic: str | None = "smtp; 550 5.1.1 <{final}>: Recipient address rejected: User unknown"
    original: str | None = None
    last_attempt: str | None = DATE

    def block(self) -> str:
        lines = []
        if self.original:
            lines.append(f"Original-Recipient: rfc822;{self.original}")
        lines += [f"Final-Recipient: rfc822; {self.final}", f"Action: {self.action}"]
        if self.status:
            lines.append(f"Status: {self.status}")
        lines.append(f"Remote-MTA: dns; {REPORTER}")
        if self.diagnostic:
            lines.append("Diagnostic-Code: " + self.diagnostic.format(final=self.final))
        if self.last_attempt:
            lines.append(f"Last-Attempt-Date: {self.last_attempt}")
        return "\r\n".join(lines)


def headers_of(original: bytes) -> bytes:
    """The header section of a message (what text/rfc822-headers returns)."""
    head, _, _ = original.replace(b"\r\n", b"\n").partition(b"\n\n")
    return head.replace(b"\n", b"\r\n") + b"\r\n"


def dsn(to: str, recipients: list[Rcpt], *, original: bytes | None = None, returned: str | None = "headers",
        report_id: str | None = "<dsn.1@mx.mailbox.example>", arrival: str = DATE,
        delivered_to: str | None = None, status_type: str = "message/delivery-status",
        status_encoding: str | None = None) -> bytes:
    """A DSN to ``to`` (the envelope sender of the original) for ``recipients``; ``returned``:
    "message" (message/rfc822), "headers" (text/rfc822-headers) or None (nothing returned)."""
    status = (f"Reporting-MTA: dns; {REPORTER}\r\nArrival-Date: {arrival}\r\n\r\n"
              + "\r\n\r\n".join(r.block() for r in recipients) + "\r\n")
    status_body = status
    encoding_header = ""
    if status_encoding == "base64":
        status_body = base64.encodebytes(status.encode()).decode().replace("\n", "\r\n")
        encoding_header = "Content-Transfer-Encoding: base64\r\n"
    head = ("Return-Path: <>\r\n"
            + (f"Delivered-To: {delivered_to}\r\n" if delivered_to else "")
            + f"From: Mail Delivery System <MAILER-DAEMON@{REPORTER}>\r\nTo: {to}\r\n"
            + "Subject: Undelivered Mail Returned to Sender\r\n"
            + f"Date: {arrival}\r\n"
            + (f"Message-ID: {report_id}\r\n" if report_id else "")
            + "MIME-Version: 1.0\r\n"
            + 'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="BOUNDARY-1"\r\n\r\n')
    human = ("This is the mail system at host mx.mailbox.example.\r\n\r\n"
             "I'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n")
    body = (f"--BOUNDARY-1\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            f"{human}\r\n--BOUNDARY-1\r\nContent-Description: Delivery report\r\nContent-Type: {status_type}\r\n"
            f"{encoding_header}\r\n{status_body}").encode()
    if returned == "message" and original is not None:
        body += (b"\r\n--BOUNDARY-1\r\nContent-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n"
                 + original.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    elif returned == "headers" and original is not None:
        body += (b"\r\n--BOUNDARY-1\r\nContent-Description: Undelivered Message Headers\r\n"
                 b"Content-Type: text/rfc822-headers\r\n\r\n" + headers_of(original))
    return head.encode() + body + b"\r\n--BOUNDARY-1--\r\n"


def arf(to: str, *, original: bytes | None = None, returned: str | None = "message", feedback_type: str = "abuse",
        mail_from: str | None = None, rcpt_to: str | None = None, report_id: str | None = "<arf.1@fbl.mailbox.example>",
        arrival: str = DATE) -> bytes:
    """An ARF report (RFC 5965) sent to ``to`` (the feedback-loop address) about ``original``."""
    fields = [f"Feedback-Type: {feedback_type}", "User-Agent: SomeGenerator/1.0", "Version: 1"]
    if mail_from:
        fields.append(f"Original-Mail-From: <{mail_from}>")
    if rcpt_to:
        fields.append(f"Original-Rcpt-To: <{rcpt_to}>")
    fields += [f"Arrival-Date: {arrival}", "Reporting-MTA: dns; fbl.mailbox.example", "Source-IP: 192.0.2.1",
               "Authentication-Results: mail.mailbox.example; spf=pass smtp.mail=bounces@nordhaus.example"]
    head = ("From: <abuse@fbl.mailbox.example>\r\nDate: " + arrival + "\r\n"
            + "Subject: FW: newsletter\r\n" + f"To: <{to}>\r\n"
            + (f"Message-ID: {report_id}\r\n" if report_id else "")
            + "MIME-Version: 1.0\r\n"
            + 'Content-Type: multipart/report; report-type=feedback-report;\r\n\tboundary="part1_13d.2e68ed54_boundary"\r\n\r\n')
    body = ("--part1_13d.2e68ed54_boundary\r\nContent-Type: text/plain; charset=\"US-ASCII\"\r\n"
            "Content-Transfer-Encoding: 7bit\r\n\r\n"
            "This is an email abuse report for an email message received from IP\r\n192.0.2.1 on " + arrival + ".\r\n"
            "For more information about this format please see http://www.mipassoc.org/arf/.\r\n\r\n"
            "--part1_13d.2e68ed54_boundary\r\nContent-Type: message/feedback-report\r\n\r\n"
            + "\r\n".join(fields) + "\r\n\r\n").encode()
    if returned == "message" and original is not None:
        body += (b"--part1_13d.2e68ed54_boundary\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
                 + original.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n")
    elif returned == "headers" and original is not None:
        body += (b"--part1_13d.2e68ed54_boundary\r\nContent-Type: text/rfc822-headers\r\n\r\n"
                 + headers_of(original) + b"\r\n")
    return head.encode() + body + b"--part1_13d.2e68ed54_boundary--\r\n"


def out_of_office(to: str) -> bytes:
    """An auto-reply that reached the bounce address: no report at all."""
    return (f"From: Anna <anna@example.com>\r\nTo: {to}\r\nSubject: Out of office\r\n"
            f"Date: {DATE}\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n").encode()


def prose_bounce(to: str, failed: str) -> bytes:
    """An old-style bounce in prose (qmail's): no delivery-status part to read."""
    return (f"From: MAILER-DAEMON@{REPORTER}\r\nTo: {to}\r\nSubject: failure notice\r\nDate: {DATE}\r\n\r\n"
            f"Hi. This is the qmail-send program at {REPORTER}.\r\nI'm afraid I wasn't able to deliver your message "
            f"to the following addresses.\r\n\r\n<{failed}>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n").encode()


def sample_original(to: str = "kunde.1@example.com", message_id: str = "<weekly.2026-11-23.abc@nordhaus.example>",
                    return_path: str | None = None) -> bytes:
    """A small sent message (when a test needs no real send)."""
    return ((f"Return-Path: <{return_path}>\r\n" if return_path else "")
            + f"From: Nordhaus <newsletter@nordhaus.example>\r\nTo: {to}\r\nSubject: Weekly\r\n"
            + f"Date: Mon, 23 Nov 2026 08:00:00 +0100\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\n\r\nHallo!\r\n").encode()


def report_about(message, kind: str, number: int) -> bytes:
    """A report about a sent message (as parsed from the outbox): a DSN of a hard bounce (5.1.1,
    ``kind`` "hard") or a soft one (4.2.2 mailbox full, "soft"), or an ARF complaint ("complaint");
    ``number`` makes the report's own Message-ID (the same number twice: the same report)."""
    original, recipient = message.as_bytes(), message["To"].addresses[0].addr_spec
    if kind == "complaint":
        return arf("fbl@nordhaus.example", original=original, report_id=f"<arf.{number}@fbl.mailbox.example>")
    status = {"hard": "5.1.1", "soft": "4.2.2"}[kind]
    return dsn("bounces@nordhaus.example", [Rcpt(recipient, status=status, diagnostic=f"smtp; 550 {status} no")],
               original=original, report_id=f"<dsn.{number}@mx.mailbox.example>")
