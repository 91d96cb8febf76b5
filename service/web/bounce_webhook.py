"""``POST /webhooks/bounces``: bounce and complaint events posted by a relay, recorded as the
bounce mailbox's reports are (``service.lifecycle.bounces``).

The body is a JSON object ``{"events": [...]}`` of up to 1,000 events::

    {"id": "evt-8f2c", "type": "bounce", "recipient": "anna@example.com",
     "action": "failed", "status": "5.1.1", "diagnostic": "smtp; 550 5.1.1 user unknown",
     "message_id": "<weekly.2026-11-23.ab12@weekly.nordhaus.example>",
     "return_path": "bounces+...@nordhaus.example", "occurred_at": "2026-11-24T09:30:00Z"}
    {"id": "evt-8f2d", "type": "complaint", "recipient": "ben@example.com", "feedback_type": "abuse", ...}

``id`` (the relay's event id, what makes an event itself: posting it again records nothing
twice) and ``type`` (``bounce`` or ``complaint``) are required; a bounce needs ``status`` (RFC
3463, e.g. 5.1.1) or ``action`` (``failed``, ``delayed``; default ``failed``). What names the
customer: ``message_id``, ``return_path`` (the envelope sender the mail had) or ``recipient``,
matched in that order. Other fields are ignored (relays add their own).

Signed with the shared secret (NEWSLETTER_WEBHOOK_SECRET): ``X-Newsletter-Timestamp`` is the
Unix time of sending, ``X-Newsletter-Signature`` is ``v1=`` and the hex HMAC-SHA256 of
``<timestamp>.<body>`` (several, comma-separated, while a secret is rotated). A timestamp more
than five minutes off is refused, so a request caught on the way cannot be replayed later.
Answers: 200 with what was recorded; 401 unsigned, wrongly signed or outside the window; 400
malformed JSON; 422 a body of another shape (naming the fields); 413 too large; 503 while no
secret is set. Not CSRF-protected (a relay has no cookie; the signature is the authority) and
no staff page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Annotated, Literal, Sequence

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from preferences.web.api.inputs import ApiError, json_kind
from preferences.suppression.recording import Outcome, SoftBounceRule
from preferences.suppression.reports import Report, is_complaint, kind_of, report_key, status_code
from preferences.suppression.return_path import ReturnPath
from preferences.suppression.tables import COMPLAINT, WEBHOOK
from service.lifecycle.bounces import Tally, record_batch
from service.settings import Settings

PATH = "/webhooks/bounces"
TIMESTAMP, SIGNATURE = "X-Newsletter-Timestamp", "X-Newsletter-Signature"
WINDOW_SECONDS = 300
MAX_BODY, MAX_EVENTS = 1024 * 1024, 1000

Text = Annotated[str, StringConstraints(min_length=1, max_length=320, strip_whitespace=True)]


class Event(BaseModel):
    """One bounce or complaint event, as the relay posts it."""

    model_config = ConfigDict(extra="ignore", strict=True)
    id: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    type: Literal["bounce", "complaint"]
    recipient: Text | None = None
    message_id: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] | None = None
    return_path: Text | None = None
    action: Literal["failed", "delayed"] | None = None
    status: Annotated[str, StringConstraints(pattern=r"^\s*[245]\.\d{1,3}\.\d{1,3}\s*$")] | None = None
    diagnostic: Annotated[str, StringConstraints(max_length=1000)] | None = None
    feedback_type: Annotated[str, StringConstraints(max_length=40)] | None = None
    occurred_at: Annotated[AwareDatetime, Field(strict=False)] | None = None


class Events(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_EVENTS)]


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Newsletter-Signature`` of a request: what a relay (or its adapter) computes."""
    return "v1=" + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def verify(secrets: Sequence[bytes], timestamp: str | None, signatures: str | None, body: bytes,
           now: float | None = None) -> None:
    """Raise ApiError 401 unless one signature is right for one secret, in the time window."""
    if not timestamp or not signatures:
        raise ApiError(401, f"sign the request: {TIMESTAMP} and {SIGNATURE} headers (see the README)")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise ApiError(401, f"{TIMESTAMP} must be the Unix time in seconds")
    if abs((now if now is not None else time.time()) - int(timestamp)) > WINDOW_SECONDS:
        raise ApiError(401, f"{TIMESTAMP} is more than {WINDOW_SECONDS} seconds off this server's clock")
    given = [part.strip() for part in signatures.split(",")][:5]
    valid = False
    for secret in secrets:  # every secret and signature, whatever the outcome: timing tells nothing
        expected = signature(secret, timestamp, body)
        for candidate in given:
            valid |= hmac.compare_digest(expected.encode(), candidate.encode("utf-8", "replace"))
    if not valid:
        raise ApiError(401, "the signature does not match the body and timestamp")


def report_of(event: Event) -> Report:
    """The Report an event makes (``report_key`` from the event id: posted twice, recorded once)."""
    if event.type == "complaint":
        feedback = (event.feedback_type or "abuse").strip().lower()
        kind = COMPLAINT if is_complaint(feedback) else None
        detail = f"feedback type {feedback}"
    else:
        status = status_code(event.status)
        kind = kind_of(event.action or "failed", status)
        detail = "; ".join(filter(None, [event.action or "failed", event.diagnostic]))
    if kind is None:
        raise ValueError(f"event {event.id} is no complaint (feedback type {event.feedback_type!r})")
    recipient = event.recipient.lower() if event.recipient and "@" in event.recipient else None
    message_id = event.message_id if event.message_id and "@" in event.message_id else None
    if message_id and not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    return Report(key=report_key(WEBHOOK, event.id, recipient or "-"), kind=kind, source=WEBHOOK, address=recipient,
                  message_id=message_id, return_paths=(event.return_path.lower(),) if event.return_path else (),
                  status=status_code(event.status) if event.type == "bounce" else None, detail=detail[:1000],
                  reported_at=event.occurred_at)


def routes(settings: Settings, engine: Engine) -> list[Route]:
    return_path = ReturnPath(settings.bounce_address, settings.link_keys)
    rule = SoftBounceRule(settings.soft_bounce_limit, settings.soft_bounce_days)

    async def receive(request: Request) -> JSONResponse:
        if not settings.webhook_secrets:
            raise ApiError(503, "the bounce webhook is not configured: set NEWSLETTER_WEBHOOK_SECRET")
        body = await _body(request)
        verify(settings.webhook_secrets, request.headers.get(TIMESTAMP), request.headers.get(SIGNATURE), body)
        events = _events(body)
        reports, ignored = [], 0
        for event in events.events:
            try:
                reports.append(report_of(event))
            except ValueError:
                ignored += 1  # e.g. a "not-spam" feedback: read, nothing to record
        tally = Tally()
        tally.add(await run_in_threadpool(record_batch, engine, reports, return_path, rule))
        return JSONResponse({
            "received": len(events.events),
            "recorded": {"hard": tally[Outcome.HARD], "soft": tally[Outcome.SOFT], "complaint": tally[Outcome.COMPLAINT]},
            "duplicates": tally[Outcome.DUPLICATE], "unmatched": tally[Outcome.UNMATCHED], "ignored": ignored,
            "suppressed": tally.suppressed}, headers={"Cache-Control": "no-store"})

    return [Route(PATH, receive, methods=["POST"], name="bounce_webhook")]


async def _body(request: Request) -> bytes:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "send the body as JSON with Content-Type: application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, f"the body is larger than {MAX_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _events(body: bytes) -> Events:
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # a lone surrogate escape is no text
    except UnicodeError:
        raise ApiError(400, "malformed JSON: the body is not UTF-8 text") from None
    except (ValueError, RecursionError) as error:
        raise ApiError(400, f"malformed JSON: {error}") from None
    if not isinstance(value, dict):
        raise ApiError(422, "invalid input", {"body": f"expected a JSON object, got {json_kind(value)}"})
    try:
        return Events.model_validate(value)
    except ValidationError as error:
        fields = {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in error.errors()[:20]}
        raise ApiError(422, "invalid input: " + "; ".join(f"{k}: {v}" for k, v in fields.items())[:500],
                       fields) from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")

