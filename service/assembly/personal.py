"""Personal fields as placeholders: rendered once per variant, substituted per recipient.

A variant is compiled with a placeholder where each personal field goes; the compiled text is
split at the placeholders once, so a recipient costs one join of pre-escaped pieces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from service.content.markup.fields import PLACEHOLDER


@dataclass(frozen=True)
class Substitution:
    """A text split at its personal-field placeholders: literal, field, literal, field, ..."""

    literals: tuple[str, ...]
    fields: tuple[str, ...]

    @classmethod
    def split(cls, text: str) -> "Substitution":
        pieces = PLACEHOLDER.split(text)
        return cls(tuple(pieces[0::2]), tuple(pieces[1::2]))

    def fill(self, values: Mapping[str, str], escape: Callable[[str], str] | None = None) -> str:
        """The text with every field replaced by its value (escaped by `escape` if given)."""
        literals, out = self.literals, [self.literals[0]]
        for i, name in enumerate(self.fields):
            value = values[name]
            out.append(escape(value) if escape else value)
            out.append(literals[i + 1])
        return "".join(out)

    def longest(self, lengths: Mapping[str, int]) -> int:
        """Length of the text with every field at its longest allowed value."""
        return sum(map(len, self.literals)) + sum(lengths[name] for name in self.fields)
