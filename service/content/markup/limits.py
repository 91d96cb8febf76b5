"""Bounds on what editors' Jinja may compute: operators and filters that refuse huge values, and
the bounds of a render's output (its time limit, the safety net for what no operator limit sees,
is service/content/markup/deadline.py).

Every limit raises ``LimitExceeded`` with a message an editor can act on; the compiler never
evaluates these operators itself (Jinja does not fold intercepted operators at compile time)."""

from __future__ import annotations

import re
from typing import Any, Iterable, Sized

from jinja2.exceptions import SecurityError

MAX_LENGTH = 100_000  # characters of a text or items of a list an expression may make
MAX_INT_DIGITS = 1_000  # digits of a number an expression may make
MAX_FORMAT_WIDTH = 1_000  # width or precision in "%10s" % x
MAX_OUTPUT = 1_000_000  # characters one render may produce (a whole mail is far below)
RENDER_SECONDS = 2.0  # one block, layout or subject; real ones take milliseconds


class LimitExceeded(SecurityError):
    """An editor's expression would make a value (or take a time) beyond the sandbox's bounds."""


def _digits_bound(number: int) -> int:
    return len(str(abs(number))) if abs(number) < 10 ** 18 else number.bit_length() * 30103 // 100000 + 1


def _check_size(value: Any, expression: str) -> Any:
    if isinstance(value, (str, list, tuple, bytes)) and len(value) > MAX_LENGTH:
        raise LimitExceeded(f"{expression} makes a value of {len(value):,} characters or items "
                            f"(at most {MAX_LENGTH:,})")
    if isinstance(value, int) and not isinstance(value, bool) and _digits_bound(value) > MAX_INT_DIGITS:
        raise LimitExceeded(f"{expression} makes a number of more than {MAX_INT_DIGITS:,} digits")
    return value


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or _digits_bound(value) < 20 else f"<{_digits_bound(value)} digits>"
    return text if len(text) <= 30 else text[:27] + "..."


def power(left: Any, right: Any) -> Any:
    expression = f"{_short(left)} ** {_short(right)}"
    if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        # Estimate before computing: 9 ** (9 ** 9) would take minutes and gigabytes.
        if (abs(left).bit_length() - 1) * right * 30103 // 100000 > MAX_INT_DIGITS:
            raise LimitExceeded(f"{expression} makes a number of more than {MAX_INT_DIGITS:,} digits")
    if isinstance(left, float) or isinstance(right, float):
        try:
            return float(left) ** float(right)
        except OverflowError as exc:
            raise LimitExceeded(f"{expression} makes a number too large to compute") from exc
    return _check_size(left ** right, expression)


def multiply(left: Any, right: Any) -> Any:
    expression = f"{_short(left)} * {_short(right)}"
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
            if len(sequence) * max(count, 0) > MAX_LENGTH:
                raise LimitExceeded(f"{expression} makes a value of {len(sequence) * count:,} "
                                    f"characters or items (at most {MAX_LENGTH:,})")
    if isinstance(left, int) and isinstance(right, int) and \
            _digits_bound(left) + _digits_bound(right) > MAX_INT_DIGITS + 1:
        raise LimitExceeded(f"{expression} makes a number of more than {MAX_INT_DIGITS:,} digits")
    return _check_size(left * right, expression)


def add(left: Any, right: Any) -> Any:
    return _check_size(left + right, f"{_short(left)} + {_short(right)}")


_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def modulo(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        for width, precision in _FORMAT_SPEC.findall(left):
            for number in (width, precision):
                if number == "*" or (number and int(number) > MAX_FORMAT_WIDTH):
                    raise LimitExceeded(f"format {_short(left)} asks for a width of {number} "
                                        f"(at most {MAX_FORMAT_WIDTH:,})")
    return _check_size(left % right, f"{_short(left)} % {_short(right)}")


BINOPS = {"**": power, "*": multiply, "+": add, "%": modulo}


def bounded_length(value: Any, what: str) -> Any:
    """`value` when it is within MAX_LENGTH (the result of `~` and of filters that grow text)."""
    if isinstance(value, Sized) and not isinstance(value, dict) and len(value) > MAX_LENGTH:
        raise LimitExceeded(f"{what} makes a text of {len(value):,} characters (at most {MAX_LENGTH:,})")
    return value


def center(value: Any, width: int = 80) -> str:
    if isinstance(width, int) and width > MAX_LENGTH:
        raise LimitExceeded(f"center({width}) makes a text of {width:,} characters (at most {MAX_LENGTH:,})")
    return str(value).center(width)


def bounded_replace(filters: dict) -> Any:
    """Jinja's `replace` filter, refusing a result over MAX_LENGTH before making it."""
    original = filters["replace"]

    def replace(eval_ctx, value, old, new, count=None):
        text, old, new = str(value), str(old), str(new)
        times = text.count(old) if old else len(text) + 1
        if count is not None and isinstance(count, int):
            times = min(times, max(count, 0))
        if len(text) + times * (len(new) - len(old)) > MAX_LENGTH:
            raise LimitExceeded(f"replace({old!r}, {_short(new)}) makes a text of more than "
                                f"{MAX_LENGTH:,} characters")
        return original(eval_ctx, value, old, new, count)
    replace.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
    return replace


def bounded_join(filters: dict) -> Any:
    """Jinja's `join` filter, refusing a result over MAX_LENGTH before making it."""
    original = filters["join"]

    def join(eval_ctx, value, d="", attribute=None):
        items = list(value) if attribute is None else value
        if attribute is None:
            size = sum(len(str(item)) for item in items) + len(str(d)) * max(len(items) - 1, 0)
            if size > MAX_LENGTH:
                raise LimitExceeded(f"join makes a text of {size:,} characters (at most {MAX_LENGTH:,})")
        return bounded_length(original(eval_ctx, items, d, attribute), "join")
    join.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
    return join


def bounded_concat(pieces: Iterable[str]) -> str:
    """What a render (or a `{% set %}` block) outputs, refused past MAX_OUTPUT before joining:
    a loop that prints a long text many times makes only references until the join."""
    parts, size = [], 0
    for piece in pieces:
        size += len(piece)
        if size > MAX_OUTPUT:
            raise LimitExceeded(f"the output grows past {MAX_OUTPUT:,} characters (a loop over long values?)")
        parts.append(piece)
    return "".join(parts)


class OutputBuffer(list):
    """A template's buffer of output pieces that refuses to hold more than MAX_OUTPUT characters."""

    size = 0

    def append(self, piece: Any) -> None:
        self.size += len(piece) if isinstance(piece, str) else 0
        if self.size > MAX_OUTPUT:
            raise LimitExceeded(f"the output grows past {MAX_OUTPUT:,} characters (a loop over long values?)")
        super().append(piece)

    def extend(self, pieces: Iterable[Any]) -> None:
        for piece in pieces:
            self.append(piece)
