"""What the preference pages read from a request besides the link: the submitted form, its
version field, the client hash that page changes record in their consent events, and the
edition the customer came from (kept on every URL the pages link to, so a change made further
on still names it)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request

from preferences.links import EDITION_PARAM, EditionRef, edition_of, edition_query
from preferences.consent import client_hash

MAX_FORM_FIELDS = 300
URLENCODED = "application/x-www-form-urlencoded"
MAX_PART_BYTES = 16 * 1024


async def submitted_form(request: Request) -> FormData | None:
    """The submitted form (urlencoded or multipart, no files), or None if it cannot be read."""
    try:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() == URLENCODED:
            return _urlencoded(await request.body())
        return await request.form(max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_PART_BYTES)
    except (HTTPException, MultiPartException, ClientDisconnect, UnicodeDecodeError, ValueError):
        return None


def _urlencoded(body: bytes) -> FormData:
    # The standard library's parser, where Starlette's (python-multipart, byte by byte in Python)
    # was a tenth of a save's CPU. Like Starlette's, it reads bytes that are not UTF-8 as U+FFFD
    # (a form with them fails its CSRF check or its validation; a one-click unsubscribe does not
    # need to be readable), and it refuses more than MAX_FORM_FIELDS fields.
    return FormData(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True,
                              max_num_fields=MAX_FORM_FIELDS, encoding="utf-8", errors="replace"))


def form_version(value: object) -> int | None:
    """The form's ``version`` field as a number, or None if it is missing or not one."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None


def client(request: Request) -> str:
    """The hash of the client's address and user agent (never the values themselves)."""
    return client_hash(request.client.host if request.client else None, request.headers.get("user-agent"))


def edition_in(request: Request) -> EditionRef | None:
    """The edition named by the request's ``edition`` parameter, if it names one."""
    return edition_of(request.query_params.get(EDITION_PARAM))


def keeping_edition(request: Request, url: str) -> str:
    """``url`` with the request's edition parameter added, if it had a valid one."""
    edition = edition_in(request)
    if edition is None:
        return url
    query = edition_query(edition.id)
    return url + ("&" + query[1:] if "?" in url else query)
