"""The tracked link's redirect: ``GET /r/{target}/{token}`` answers 302 to where the email linked.

The target is sealed into the link (``service.assembly.tracking``), so the answer needs no
database: a click is handed to the recorder's buffer and the browser is on its way. A link we
did not make, or whose recipient part was changed, is the same 404 as every bad link, and
records nothing; HEAD (link scanners, prefetchers) is answered and never recorded."""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from preferences.consent import client_hash
from preferences.errors import BadLink
from preferences.links import LinkSigner, Purpose

from service.assembly.tracking import open_target, verify_click
from service.results.recorder import Click, ClickRecorder
from service.web.web_version import not_found_page

NO_STORE = {"Cache-Control": "no-store"}


def routes(signer: LinkSigner, recorder: ClickRecorder) -> list[Route]:
    async def click(request: Request) -> Response:
        try:
            target = open_target(signer, request.path_params["target"])
            public_id = verify_click(signer, request.path_params["token"], target)
        except BadLink:
            return HTMLResponse(not_found_page(), status_code=404, headers=NO_STORE)
        if request.method == "GET":
            host = request.client.host if request.client else None
            recorder.record(Click(target, public_id, datetime.now(timezone.utc),
                                  client_hash(host, request.headers.get("user-agent"))))
        return RedirectResponse(target.url, status_code=302, headers=NO_STORE)

    return [Route(Purpose.CLICK.path + "{target}/{token}", click, methods=["GET", "HEAD"], name="click")]
