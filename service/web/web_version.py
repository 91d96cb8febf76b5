"""The web version of an email ("view in your browser"): the customer's own HTML part.

The link is signed for the customer and bound to the edition, so it shows nobody else's email
and no other edition; whatever is wrong with it, the answer is the same 404 page. A view link
gets forwarded with the email, so the page shows the address only masked (``masked_address``).

Sent is sent: once the ledger says the customer was sent the edition, the page is the archived
body they got (service/sending/archive.py) filled with their values as the send filled it, so it
is the HTML part of their mail byte for byte, whatever blocks, dates or the customer's choices
changed since; only the personal fields are today's (name, the masked address, the signed links
under the current keys and base URL). An edition whose archive was pruned answers the 404 page:
rendering it again from today's content would show a mail that was never sent, and the answer
to a link that no longer works is the one every bad link gets. Not sent (yet), or sent before
the archive existed: rendered from the current content, as it would be sent now."""

from __future__ import annotations

import dataclasses
import functools
from datetime import date
from html import escape

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from preferences import translations
from preferences.errors import BadLink
from preferences.links import LinkSigner, Purpose
from preferences.store import customer_send_row

from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.content.live import LiveContent
from service.sending.archive import sent_copy
from service.sending.ledger import EditionKey
from service.web.errors import PAGE_LANGUAGES

# The email alone, as in a mail program: no scripts, no forms, images over https only.
EMAIL_CSP = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; sandbox"
@functools.cache
def not_found_page() -> str:
    """The one answer to every bad link: German and English, from the gettext catalogue."""
    parts = []
    for locale in PAGE_LANGUAGES:
        _ = translations.for_locale(locale).gettext
        heading, text = _("This view does not exist"), _("The link is incomplete or no longer valid.")
        parts.append(f'<h1 lang="{locale}">{escape(heading)}</h1><p lang="{locale}">{escape(text)}</p>')
    title = escape(translations.for_locale(PAGE_LANGUAGES[0]).gettext("This view does not exist"))
    return (f'<!doctype html><html lang="{PAGE_LANGUAGES[0]}"><meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>\n'
            '<body style="font-family: Helvetica, Arial, sans-serif; max-width: 32rem; margin: 3rem auto; '
            'padding: 0 1rem">\n<main>\n' + "\n".join(parts) + "\n</main>\n</body></html>")


def routes(live: LiveContent, engine: Engine, signer: LinkSigner, renderer: Renderer,
           experiment_key: bytes) -> list[Route]:
    def web_version(request: Request) -> Response:  # sync: Starlette runs it in a thread
        template_id, day, token = (request.path_params[k] for k in ("template", "date", "token"))
        html = _render(live, engine, signer, renderer, template_id, day, token, experiment_key)
        if html is None:
            return HTMLResponse(not_found_page(), status_code=404, headers={"Cache-Control": "no-store"})
        return HTMLResponse(html, headers={"Content-Security-Policy": EMAIL_CSP,
                                           "Cache-Control": "private, no-store"})

    # The path is the link's own (Purpose.VIEW.path, as the renderer writes it into every email).
    return [Route(Purpose.VIEW.path + "{template}/{date}/{token}", web_version, methods=["GET"], name="web_version")]


def _render(live: LiveContent, engine: Engine, signer: LinkSigner, renderer: Renderer,
            template_id: str, day: str, token: str, experiment_key: bytes) -> str | None:
    try:
        public_id = signer.verify(token, Purpose.VIEW, f"{template_id}/{day}")
        edition_date = date.fromisoformat(day)
    except (BadLink, ValueError):
        return None
    with engine.connect() as conn:
        row = customer_send_row(conn, public_id=public_id)
        sent = None if row is None else sent_copy(conn, EditionKey(template_id, edition_date), row.id)
    if row is None:
        return None
    recipient = Recipient.from_row(row)
    shown = dataclasses.replace(recipient, email=masked_address(recipient.email))
    if sent is not None:
        return None if sent.body is None else renderer.sent_html(sent.body, shown)
    content = live.current().content
    template = content.templates.get(template_id) if content else None
    if template is None:
        return None
    edition = Edition(content, template, edition_date, experiment_key=experiment_key)
    assembly = edition.assembly_for(recipient)  # with the customer's arms
    if assembly is None or assembly.skip_reason:
        return None
    # A customer who opted out of click measuring sees the untracked links here too.
    return renderer.html(edition, renderer.for_recipient(edition, assembly, recipient), shown)


def masked_address(email: str) -> str:
    """The address as its owner recognises it and a reader of a forwarded link cannot use:
    ``anna.berg@example.com`` -> ``a…@e….com``."""
    local, _, domain = email.rpartition("@")
    host, dot, top = domain.rpartition(".")
    return f"{local[:1]}…@{(host or top)[:1]}…{dot}{top if host else ''}"
