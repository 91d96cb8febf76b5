"""Why an SMTP relay could not be used, in words an operator can act on (service/delivery/smtp.py
raises and records them)."""

from __future__ import annotations

import smtplib
import socket
import ssl


class RelayUnreachable(Exception):
    """The relay at ``target`` cannot be used: ``reason`` says why, in words."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"{target}: {reason}")
        self.target, self.reason = target, reason


def reason(exc: BaseException, target=None) -> str:
    """Why a connection to the relay failed, as an operator can act on it."""
    where = f"{target.host}:{target.port}" if target else "the relay"
    if isinstance(exc, smtplib.SMTPNotSupportedError) and "STARTTLS" in str(exc).upper():
        return "the relay does not offer STARTTLS (drop ?starttls=1, or use smtps:// if it speaks TLS at once)"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"the relay does not support it: {exc}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"authentication refused: {exc.smtp_code} {answer_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPConnectError):
        return f"the relay refused the session: {exc.smtp_code} {answer_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the relay closed the connection" + (f" ({exc})" if str(exc) else "")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: the relay's certificate is not trusted ({exc.verify_message}; ?verify=0 skips the check)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where} (nothing listens there)"
    if isinstance(exc, socket.gaierror):
        return f"the host name {target.host if target else ''} was not found (DNS: {exc.strerror})".replace("  ", " ")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"no answer from {where} within {target.timeout:g} s" if target else "no answer (timeout)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot connect to {where}: {exc.strerror}"
    return f"{exc.__class__.__name__}: {exc}".strip()


def answer_text(text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return " ".join(words.split())
