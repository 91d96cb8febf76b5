"""What every recipient of one compiled variant was sent, personal fields aside: the archive's unit.

A ``SentBody`` holds the variant's subject, HTML and text parts as the send substitutes them
(literals with the personal fields' slots between them) and the first-name fallback its locale
used: everything the send's bytes depend on besides the recipient's own values. Filled with a
recipient's values by ``Renderer.sent_html`` it gives the bytes the send's ``Renderer.html``
gave, whatever the content files or the customer's choices are now. The web version and
``preview --customer`` of a sent edition read it from the archive (``service.sending.archive``).

``to_bytes`` is its one canonical form (compact, key-sorted JSON, UTF-8): the archive keys a body
by the SHA-256 of these bytes (``digest``), so equal bodies are stored once, whichever worker or
edition archived them. The slots are written back as the placeholders they were split at
(``@@nl:recipient.first_name@@``), which cannot occur in a literal, so ``from_bytes`` splits
them again into exactly the same pieces.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from preferences.links import edition_query

from service.assembly.personal import Substitution
from service.content.markup.fields import placeholder

FORMAT = 1  # the version of to_bytes' layout; from_bytes refuses any other


@dataclass(frozen=True)
class SentBody:
    edition_id: str  # "weekly/2026-11-23": the personal links are signed for it
    locale: str
    first_name_fallback: str  # printed for a recipient without a first name
    subject: Substitution
    html: Substitution
    text: Substitution

    @property
    def edition_query(self) -> str:
        """What the personal links add to name the edition (as CompiledVariant.edition_query)."""
        return edition_query(self.edition_id)

    def to_bytes(self) -> bytes:
        fields = {"format": FORMAT, "edition": self.edition_id, "locale": self.locale,
                  "first_name_fallback": self.first_name_fallback, "subject": _joined(self.subject),
                  "html": _joined(self.html), "text": _joined(self.text)}
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")

    def digest(self) -> str:
        """The content address: SHA-256 (hex) of the canonical bytes."""
        return hashlib.sha256(self.to_bytes()).hexdigest()

    @classmethod
    def from_bytes(cls, data: bytes) -> "SentBody":
        fields = json.loads(data.decode("utf-8"))
        if fields.get("format") != FORMAT:
            raise ValueError(f"archived body of format {fields.get('format')!r}, expected {FORMAT}")
        return cls(fields["edition"], fields["locale"], fields["first_name_fallback"],
                   Substitution.split(fields["subject"]), Substitution.split(fields["html"]),
                   Substitution.split(fields["text"]))


def _joined(body: Substitution) -> str:
    out = [body.literals[0]]
    for name, literal in zip(body.fields, body.literals[1:]):
        out += (placeholder(name), literal)
    return "".join(out)
