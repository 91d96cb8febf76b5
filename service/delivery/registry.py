"""Which target module handles a ``--to`` URL, by its scheme.

Each target module (maildir, spool, smtp) parses its own URLs into a frozen target value that
opens a deliverer; adding a destination (say, an HTTP mail API) is one module beside them and
one line in ``PARSERS``."""

from __future__ import annotations

from typing import Callable

from service.delivery import maildir, smtp, spool
from service.delivery.base import BadTarget, Target

PARSERS: dict[str, Callable[[str], Target]] = {
    maildir.SCHEME: maildir.parse,
    spool.SCHEME: spool.parse,
    **{scheme: smtp.parse for scheme in smtp.SCHEMES},
}
EXAMPLES = "maildir:PATH, spool:PATH or smtp://host:port"


def parse_target(text: str) -> Target:
    """The target a ``--to`` value names, or BadTarget saying what is wrong with it."""
    scheme, colon, _ = text.partition(":")
    parser = PARSERS.get(scheme.lower()) if colon else None
    if parser is None:
        raise BadTarget(f"{smtp.hide_password(text)!r}: use {EXAMPLES}")
    return parser(text)
