"""The web application: staff preview pages, and the mount point of the preference centre.

`create_app(settings)` builds a Starlette app with the one registry of exception handlers
(``service.web.errors``); every response gets the security headers."""

from __future__ import annotations

import contextlib
import gc
from typing import Iterable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from preferences.database import make_engine
from preferences.links import LinkSigner
from preferences.web.api import opt_ins, routes as api, suppressions
from preferences.web.csrf import protect
from preferences.web.pages import routes as preference_routes

from service.assembly.render import Renderer
from service.content.live import LiveContent
from service.lifecycle.outbox_worker import OutboxThread, outbox_worker
from service.results.recorder import ClickRecorder
from service.settings import Settings
from service.staff.passwords import Passwords
from service.staff.sessions import Sessions
from service.web import bounce_webhook, errors, redirect, results_api
from service.web import web_version
from service.web.catalogue import centre_for
from service.web.preview import PreviewPages
from service.web.results_pages import ResultsPages
from service.web.security_headers import SecurityHeaders
from service.web.staff import StaffAccess
from service.web.staff import login as staff_login
from service.web.staff.editor_pages import EditorPages


def create_app(settings: Settings, *, extra_routes: Iterable[BaseRoute] = ()) -> Starlette:
    """The app for `settings`; `extra_routes` (e.g. the preference centre's routes or a Mount of
    them, the web version's `/view/...` route, the JSON API) are served beside the preview."""
    def new_renderer() -> Renderer:
        return Renderer(LinkSigner(settings.link_keys), settings.base_url, settings.unsubscribe_mailto)

    engine = make_engine(settings.database_url)
    preview = PreviewPages(settings, new_renderer, engine=engine)
    live = LiveContent(settings.content_dir, interval=2.0)
    renderer = new_renderer()
    centre = centre_for(settings, live, engine)
    clicks = ClickRecorder(engine)
    outbox = OutboxThread(outbox_worker(settings, engine, lambda: live.current().content))
    staff_access = StaffAccess(engine, Sessions(settings.staff_session_secret,
                                                secure=settings.base_url.startswith("https://")))
    routes: list[BaseRoute] = [
        # The customers' pages first: the router tries the routes in order, on every request.
        *preference_routes(centre, on_queued=outbox.wake),
        *preview.routes(),
        *staff_login.routes(staff_access, Passwords(), settings.rate_limit_storage),
        *ResultsPages(engine, settings.preview_password, lambda: live.current().content).routes(),
        *EditorPages(settings, preview.live, new_renderer, staff_access, engine).routes(),
        *web_version.routes(live, engine, centre.signer, renderer, settings.experiment_key),
        *redirect.routes(centre.signer, clicks),
        *bounce_webhook.routes(settings, engine),
        *api.routes(centre, on_queued=outbox.wake,
                    extensions=(results_api.extension(engine), opt_ins.extension(engine),
                                suppressions.extension(centre))),
        *extra_routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders),
                    Middleware(protect, secret=settings.csrf_secret,
                               secure=settings.base_url.startswith("https://"))],
        exception_handlers=errors.handlers(),
        lifespan=_background(clicks, outbox),
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.clicks = clicks
    app.state.outbox = outbox
    app.state.staff_access = staff_access
    return app


def _background(clicks: ClickRecorder, outbox: OutboxThread):
    """The app's lifespan: while the app serves, the click recorder's thread runs (and writes
    what it still holds when the app stops), and the outbox worker sends queued mail."""
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        clicks.start()
        outbox.start()
        try:
            yield
        finally:
            await run_in_threadpool(outbox.stop)
            await run_in_threadpool(clicks.stop)
    return lifespan


def app_from_env() -> Starlette:
    """The app with settings from the environment: `uvicorn --factory service.web.app:app_from_env`
    (several workers, or behind a process manager)."""
    return ready_to_serve(create_app(Settings.from_env()))


def ready_to_serve(app: Starlette) -> Starlette:
    """``app``, with what start-up made (content, templates, SQLAlchemy, ...) moved out of the
    cyclic garbage collector's view: a full collection over them is a pause that every request
    in flight would wait out (README, "Measured reasons")."""
    gc.collect()
    gc.freeze()
    return app
