"""What every staff page shares: where they live, how they look, and the headers they are sent
with. Staff pages are rendered from service/web/templates/ (autoescaped)."""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

PREFIX = "/preview"
RESULTS_PREFIX = "/results"  # the results pages: staff too
ACCOUNT_PREFIX = "/staff"  # signing in and out
EDIT_PREFIX = "/edit"  # the block editor
# The email is shown in srcdoc, so it lives under this policy too: its inline CSS and https
# images load, nothing else does (no scripts, fonts, frames or form posts elsewhere).
PAGE_CSP = ("default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
STAFF_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}


def is_staff_path(path: str) -> bool:
    return any(path == prefix or path.startswith((prefix + "/", prefix + "."))
               for prefix in (PREFIX, RESULTS_PREFIX, ACCOUNT_PREFIX, EDIT_PREFIX))


@functools.cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(Path(__file__).parent.parent / "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def page(name: str, **context) -> str:
    """One of the staff pages in service/web/templates/, rendered (autoescaped)."""
    return _environment().get_template(name).render(**context)
