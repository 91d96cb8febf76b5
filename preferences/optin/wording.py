"""The consent wording a customer is shown, and its version: what they agreed to, provably.

The texts are gettext messages (``preferences.translations``), rendered with the newsletter's
name in the customer's language. Their version is derived from the exact text, so a changed
translation or name is a new version without anyone bumping a number: ``<locale>-<16 hex of
sha256>``. Every version shown is kept in ``consent_text`` (``keep``) with its text, so an
``opt_in`` row's version always leads to the words behind it.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from preferences import translations
from preferences.optin.tables import consent_text
from preferences.utc import utcnow


def _(message: str) -> str:
    """Marks a message for extraction; translated where it is shown."""
    return message


# What the signup form says next to its button.
SIGNUP = _("Yes, I would like to get the %(newsletter)s by email: new products, advice and offers, as often as I "
           "choose. I can unsubscribe at any time, with the link in every email or in my newsletter settings.")
# What the confirm page says above its button.
CONFIRM = _("By confirming, you agree to get the %(newsletter)s at this address, as often as you choose. You can "
            "unsubscribe at any time, with the link in every email or in your newsletter settings.")


def text(message: str, locale: str, newsletter: str) -> str:
    """``message`` (``SIGNUP`` or ``CONFIRM``) as the customer reads it."""
    return translations.for_locale(locale).gettext(message) % {"newsletter": newsletter}


def version_of(locale: str, shown: str) -> str:
    """The version of the text ``shown`` in ``locale``."""
    return f"{locale[:16]}-{hashlib.sha256(shown.encode('utf-8')).hexdigest()[:16]}"


def keep(conn: Connection, locale: str, shown: str) -> str:
    """Keep ``shown`` (once per version) and return its version."""
    version = version_of(locale, shown)
    if conn.execute(select(consent_text.c.version).where(consent_text.c.version == version)).first() is None:
        try:
            with conn.begin_nested():  # two requests showing a new text at once: one row
                conn.execute(consent_text.insert().values(version=version, locale=locale, text=shown,
                                                          first_shown_at=utcnow()))
        except IntegrityError:
            pass
    return version


def is_known(conn: Connection, version: object) -> bool:
    """Whether ``version`` is one this service showed (a form's hidden field may be anything)."""
    return isinstance(version, str) and len(version) <= 40 and conn.execute(
        select(consent_text.c.version).where(consent_text.c.version == version)).first() is not None
