"""The preference pages in the customer's language: Jinja environments over the catalogues of
``preferences.translations``, and what every page is sent with (its inline stylesheet and
security headers).

One Jinja environment per page language, with ``jinja2.ext.i18n`` installed
new-style (``_("Hello %(name)s", name=...)``, escaped like any other expression); messages
without variables are translated once, when a template is compiled (``constant_messages``).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from preferences import translations
from preferences.web.constant_messages import ConstantMessages

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The pages' only stylesheet, inlined; the Content-Security-Policy allows exactly this text.
STYLESHEET = Markup((TEMPLATES / "page.css").read_text(encoding="utf-8"))
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(str(STYLESHEET).encode("utf-8")).digest()).decode()
# No scripts, no images, no third-party anything; forms post only to this site.
CONTENT_SECURITY_POLICY = (f"default-src 'none'; style-src '{STYLE_HASH}'; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")
# Personal pages: not cached, not framed, and the token in the URL never leaks as a Referer.
PAGE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


@lru_cache(maxsize=None)
def environment(locale: str) -> Environment:
    """The Jinja environment rendering the page templates in ``locale``."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n", ConstantMessages],
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates are package files: checking their mtime on every page was a noticeable part of a view.
        auto_reload=False,
    )
    env.install_gettext_translations(translations.for_locale(locale), newstyle=True)  # type: ignore[attr-defined]
    env.constant_gettext = translations.for_locale(locale).gettext  # type: ignore[attr-defined]
    env.globals["stylesheet"] = STYLESHEET
    return env


def render(template: str, locale: str, **context) -> str:
    """``template`` rendered in ``locale``."""
    return environment(locale).get_template(template).render(locale=locale, **context)
