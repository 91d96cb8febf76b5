"""Delivery to an SMTP relay over one persistent connection per worker (smtplib).

Per message: MAIL FROM, RCPT TO, DATA, each answer checked (one recipient per transaction).

- A 5xx answer fails that recipient for good, with the relay's words.
- A 4xx answer to its RCPT TO or its DATA (other than 421) is about this recipient alone
  (greylisting, a full mailbox, a per-recipient limit): the message is ``deferred`` at once with
  ``recipient_only``, the transaction is reset (RSET) and the connection goes on with the next
  message; the sender retries the recipient after a back-off of its own (service/sending/batch.py).
- A 421 (the relay closes the connection), a 4xx to MAIL FROM, or a lost connection is about
  the relay: retried on a fresh connection with exponential backoff, and after the last retry
  the message is ``deferred`` (the worker backs off and puts the rest of its batch back).

A connection lost after the message's data went out but before the relay's answer to it is
retried like any lost connection: the message goes again on a fresh connection. If the relay had
queued the first copy, the recipient gets it twice (SMTP cannot be asked what it holds); the
other way, a message never sent twice, would lose the ones the relay never got.

The pace is held to ``rate`` messages per second.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import unquote, urlsplit

from service.delivery.base import DEFERRED, FAILED, SENT, BadTarget, Envelope, Result, flag, url_options
from service.delivery.smtp_reasons import RelayUnreachable, answer_text, reason

SCHEMES = ("smtp", "smtps")
OPTIONS = ("starttls", "verify", "rate", "timeout", "retries")


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    implicit_tls: bool = False
    verify: bool = True
    rate: float | None = None  # messages per second, for the whole relay (all workers together)
    timeout: float = 30.0
    retries: int = 6  # per message, with backoff; a mail sent inside a web request wants few

    def __str__(self) -> str:  # never the password
        user = f"{self.username}@" if self.username else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{self.host}:{self.port}"

    def check(self) -> None:
        """One connection as the send will make it (connect, EHLO, STARTTLS, AUTH), then QUIT:
        RelayUnreachable with the reason in words when the relay cannot be used at all, before
        any work is done (a send must not learn it after five minutes of retries)."""
        delivery = SmtpDelivery(self)
        try:
            delivery._connection()
        except (smtplib.SMTPException, OSError) as exc:
            raise RelayUnreachable(str(self), reason(exc, self)) from exc
        finally:
            delivery.close()

    def open(self, *, share: int = 1, pace: Callable[[], None] | None = None) -> "SmtpDelivery":
        rate = self.rate / share if self.rate and pace is None else None
        return SmtpDelivery(self, rate=rate, pace=pace, retries=self.retries)


def parse(text: str) -> SmtpTarget:
    """``smtp[s]://[user:pass@]host[:port][?starttls=1&verify=0&rate=700&timeout=30&retries=6]``."""
    parts = urlsplit(text)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise BadTarget(f"{hide_password(text)!r}: use smtp://host:port or smtps://host:port")
    options = url_options(parts.query)
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise BadTarget(f"unknown SMTP option(s): {', '.join(sorted(unknown))}")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        rate = float(options["rate"]) if "rate" in options else None
        timeout = float(options.get("timeout", 30))
        retries = int(options.get("retries", 6))
    except ValueError as exc:
        raise BadTarget(f"{hide_password(text)!r}: {exc}") from exc
    if rate is not None and rate <= 0:
        raise BadTarget("rate must be a positive number of messages per second")
    if not 0 <= retries <= 20:
        raise BadTarget("retries must be a whole number from 0 to 20")
    return SmtpTarget(
        host=parts.hostname, port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls=flag(options.get("starttls", "0")), implicit_tls=parts.scheme == "smtps",
        verify=flag(options.get("verify", "1")), rate=rate, timeout=timeout, retries=retries,
    )


def hide_password(text: str) -> str:
    """A target URL fit for a message: the password replaced by ***."""
    parts = urlsplit(text)
    if parts.password:
        return text.replace(f":{parts.password}@", ":***@", 1)
    return text


# Exceptions that mean "the connection is gone or unusable": reconnect and try again.
_CONNECTION_ERRORS = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPHeloError,
                      ConnectionError, socket.timeout, TimeoutError, OSError)


class _Answer(Exception):
    def __init__(self, code: int, text: bytes | str, step: str, *, recipient: bool = False):
        self.code, self.recipient = code, recipient  # recipient: an answer about that recipient alone
        words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        self.answer = f"{code} {' '.join(words.split())} ({step})"
        super().__init__(self.answer)


class SmtpDelivery:
    record_every = 50  # a crash may repeat at most this many messages (SMTP cannot be asked)

    def __init__(self, target: SmtpTarget, *, rate: float | None = None, retries: int = 6,
                 backoff: float = 0.5, max_backoff: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 pace: Callable[[], None] | None = None):
        self.target, self.retries, self.backoff, self.max_backoff = target, retries, backoff, max_backoff
        self.sleep, self.clock, self.shared_pace = sleep, clock, pace
        self.interval = 1.0 / rate if rate else 0.0
        self._next_at = 0.0
        self._conn: smtplib.SMTP | None = None
        self.connections = 0  # opened so far (tests and diagnostics)

    # -- per message ----------------------------------------------------------------------
    def deliver(self, envelope: Envelope) -> Result:
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
            self._pace()
            try:
                conn = self._connection()
                answer = self._transaction(conn, envelope)
                return Result(SENT, answer)
            except _Answer as exc:
                last = exc.answer
                if exc.code >= 500:
                    return Result(FAILED, last)
                if exc.code == 421:  # the relay is closing this connection
                    self._drop()
                elif exc.recipient:  # this recipient, not the relay: the connection goes on
                    return Result(DEFERRED, last, recipient_only=True)
            except smtplib.SMTPAuthenticationError as exc:
                # Wrong credentials fail every message alike: not this recipient's fault.
                self._drop()
                return Result(DEFERRED, f"{exc.smtp_code} {answer_text(exc.smtp_error)} (AUTH)")
            except smtplib.SMTPNotSupportedError as exc:
                self._drop()
                return Result(DEFERRED, reason(exc, self.target))
            except _CONNECTION_ERRORS as exc:
                self._drop()
                last = reason(exc, self.target)
        return Result(DEFERRED, last)

    def _transaction(self, conn: smtplib.SMTP, envelope: Envelope) -> str:
        code, text = conn.mail(envelope.sender)
        if code != 250:
            self._reset(conn)
            raise _Answer(code, text, "MAIL FROM")
        code, text = conn.rcpt(envelope.recipient)
        if code not in (250, 251):
            self._reset(conn)
            raise _Answer(code, text, "RCPT TO", recipient=True)
        try:
            code, text = conn.data(envelope.data)
        except smtplib.SMTPDataError as exc:  # DATA itself refused
            self._reset(conn)
            raise _Answer(exc.smtp_code, exc.smtp_error, "DATA", recipient=True) from exc
        if code != 250:  # the transaction is over: nothing to reset
            raise _Answer(code, text, "end of DATA", recipient=True)
        return f"{code} {answer_text(text)}"

    def _pace(self) -> None:
        if self.shared_pace is not None:  # a limit all workers share (service/sending/dramatiq_engine.py)
            self.shared_pace()
            return
        if not self.interval:
            return
        now = self.clock()
        if self._next_at > now:
            self.sleep(self._next_at - now)
            now = self._next_at
        self._next_at = max(now, self._next_at) + self.interval

    # -- the connection -------------------------------------------------------------------
    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        t = self.target
        context = ssl.create_default_context()
        if not t.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if t.implicit_tls:
            conn = smtplib.SMTP_SSL(t.host, t.port, timeout=t.timeout, context=context)
        else:
            conn = smtplib.SMTP(t.host, t.port, timeout=t.timeout)
        try:
            conn.ehlo()
            if t.starttls:
                conn.starttls(context=context)
                conn.ehlo()
            if t.username:
                _login(conn, t.username, t.password or "")
        except BaseException:
            _close(conn)
            raise
        self._conn = conn
        self.connections += 1
        return conn

    def _reset(self, conn: smtplib.SMTP) -> None:
        try:
            conn.rset()
        except _CONNECTION_ERRORS:
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            _close(self._conn)
            self._conn = None

    def has(self, message_id: str) -> bool:
        return False  # SMTP cannot be asked: a crash after the relay's 250 repeats the message

    def held(self, message_ids) -> set[str]:
        return set()

    def flush(self) -> None:
        """Nothing to do: a message is the relay's once it answered 250."""

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            _close(self._conn)
            self._conn = None


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH with the first mechanism both sides know. Not smtplib's login(), which tries every
    mechanism in turn after a refusal: some relays then wait for input that never comes."""
    if not conn.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("the relay offers no AUTH (STARTTLS first? add ?starttls=1)")
    offered = conn.esmtp_features["auth"].upper().split()
    mechanism = next((m for m in ("PLAIN", "LOGIN", "CRAM-MD5") if m in offered), None)
    if mechanism is None:
        raise smtplib.SMTPNotSupportedError(f"no AUTH mechanism in common (relay offers {' '.join(offered)})")
    conn.user, conn.password = user, password
    conn.auth(mechanism, getattr(conn, "auth_" + mechanism.lower().replace("-", "_")))


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except OSError:
        pass
