"""Unsubscribes by mail: the ``mailto:`` of every message's List-Unsubscribe header.

A mail program that unsubscribes by mail sends a message to the unsubscribe address with the
subject the header gave, ``unsubscribe <token> <edition>`` (the edition percent-encoded, as the
mailto URL carries it, or decoded by the program). The token is the same signed unsubscribe
token as the https link's, so the message proves what the link proves; the sender's address
does not matter (a forwarding address may send it). ``read_request`` reads the subject (a
"Re:" or "AW:" before it, case and spacing do not matter); ``unsubscribe_by_mail`` applies it,
once: a second message for the same customer changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

from sqlalchemy.orm import Session

from preferences import store
from preferences.consent import from_edition
from preferences.errors import BadLink, UnknownCustomer
from preferences.links import EditionRef, LinkSigner, Purpose, edition_of
from preferences.models import Channel

_SUBJECT = re.compile(r"(?:\s*(?:re|aw|fwd?|wg)\s*:\s*)*unsubscribe\s+(\S+)(?:\s+(\S+))?\s*", re.IGNORECASE)


class Outcome(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    ALREADY = "already unsubscribed"
    NOT_UNDERSTOOD = "not understood"


@dataclass(frozen=True)
class MailRequest:
    """What an unsubscribe mail asks: the signed token, and the edition it came from if named."""

    token: str
    edition: EditionRef | None


def read_request(subject: str | None) -> MailRequest | None:
    """The request in an unsubscribe mail's subject, or None if it is not one."""
    found = _SUBJECT.fullmatch(" ".join((subject or "").split()))
    if found is None:
        return None
    edition = edition_of(unquote(found.group(2))) if found.group(2) else None
    return MailRequest(found.group(1), edition)


def unsubscribe_by_mail(session: Session, signer: LinkSigner, request: MailRequest | None) -> Outcome:
    """Unsubscribe the customer whose token the mail carries (channel ``mailto``, the edition
    named); the caller commits."""
    if request is None:
        return Outcome.NOT_UNDERSTOOD
    try:
        public_id = signer.verify(request.token, Purpose.UNSUBSCRIBE)
        customer = store.get_customer_by_public_id(session, public_id)
    except (BadLink, UnknownCustomer):
        return Outcome.NOT_UNDERSTOOD
    with from_edition(request.edition):
        changed = store.unsubscribe(session, customer, Channel.MAILTO)
    return Outcome.UNSUBSCRIBED if changed else Outcome.ALREADY
