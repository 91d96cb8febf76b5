"""The operator's JSON API under ``/api``: upsert customers, read and change their preferences,
read their consent trail. Customers are addressed by the CRM's external id.

Every route comes from ``preferences.web.api.openapi.OPERATIONS``, so the served OpenAPI document lists
exactly what is routed. Authentication is a bearer API key from ``Centre.api_keys``. Every client
mistake is a JSON error ``{"error": ..., "fields": {field: message}}`` with a 4xx status, never a
traceback: handlers raise ApiError or domain errors, and ``preferences.web.errors`` answers them.
Database work runs in the thread pool, in one transaction per request.
"""

from __future__ import annotations

import hmac
from contextlib import contextmanager
from functools import wraps
from typing import Any, Awaitable, Callable, Iterator
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from preferences import consent, store
from preferences.errors import Conflicts, StaleForm
from preferences.models import Channel, ConsentEvent
from preferences.optin.requests import queue_for_new_pending
from preferences.pending import MailQueued
from preferences.web.api.inputs import (ApiError, PatchBody, batch_error, bool_param, customer_input,
                                         expected_version, int_param, json_object, parse_batch, path_id)
from preferences.web.api.openapi import OPERATIONS, PREFIX, Extension, document
from preferences.web.api.keys import named_keys
from preferences.web.api.outputs import confirmation_json, customer_json, etag, event_json, preferences_json
from preferences.web.api.schemas import DEFAULT_PAGE, MAX_PAGE, parameters
from preferences.web.centre import Centre

MAX_BODY_BYTES = 64 * 1024
MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024
_MAX_ID = 2**62  # keeps a query parameter inside a 64-bit integer column

Handler = Callable[[Request], Awaitable[Response]]


def routes(centre: Centre, *, on_queued: MailQueued | None = None,
           extensions: tuple[Extension, ...] = ()) -> list[BaseRoute]:
    """The API's routes, mounted at ``/api``: one route per path, its methods dispatched by
    Starlette (``HTTPEndpoint``), whose router answers unknown paths (404) and methods (405).
    Errors are answered by ``preferences.web.errors``. A customer the API creates as pending
    gets a confirmation queued in the outbox in the same transaction (double opt-in);
    ``on_queued`` is called after the commit (it wakes the service's outbox worker).
    ``extensions``: the composing app's own operations, routed and secured like these."""
    api = _Api(centre, on_queued, extensions)
    by_path: dict[str, dict[str, Handler]] = {}
    served = [(operation, getattr(api, operation.operation_id), operation.query_names) for operation in OPERATIONS]
    for extension in extensions:
        declared = {**parameters(), **extension.parameters}
        served += [(operation, extension.handlers[operation.operation_id], operation.query_names_in(declared))
                   for operation in extension.operations]
    for operation, found, names in served:
        handler = _only_known_query(found, names)
        by_path.setdefault(operation.path, {})[operation.method.lower()] = (
            api.secured(handler) if operation.secured else handler)
    return [Mount(PREFIX, routes=[Route(path, _endpoint(path, handlers)) for path, handlers in by_path.items()])]


def _only_known_query(handler: Handler, names: frozenset[str]) -> Handler:
    """``handler``, refusing a query parameter its operation does not declare (400): a typo
    (``limt=5``) must not pass for the default."""
    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        unknown = sorted(set(request.query_params) - names)
        if unknown:
            raise ApiError(400, f"unknown query parameter {unknown[0]!r}",
                           {name or "(empty name)": "not a parameter of this operation" for name in unknown})
        return await handler(request)
    return endpoint


def _endpoint(path: str, handlers: dict[str, Handler]) -> type[HTTPEndpoint]:
    """An endpoint class with one method per HTTP method of ``path``."""
    return type(f"Endpoint{path}", (HTTPEndpoint,), {method: staticmethod(h) for method, h in handlers.items()})


class _Api:
    """The handlers, one per operation id of preferences.web.api.openapi.OPERATIONS."""

    def __init__(self, centre: Centre, on_queued: MailQueued | None = None,
                 extensions: tuple[Extension, ...] = ()) -> None:
        self.centre, self.on_queued, self.extensions = centre, on_queued, extensions
        self._keys = tuple((name, secret.encode("utf-8")) for name, secret in named_keys(centre.api_keys))

    def secured(self, handler: Handler) -> Handler:
        """``handler``, run only for a request with a valid API key; what it records names the
        key (``request.state.api_key``, the key's name, never its secret)."""
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            request.state.api_key = self.authorise(request)
            return await handler(request)
        return endpoint

    def authorise(self, request: Request) -> str:
        """The name of the request's API key; ApiError 401/503 otherwise."""
        if not self._keys:
            raise ApiError(503, "API disabled: set NEWSLETTER_API_KEYS")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "send an API key as Authorization: Bearer <key>",
                           headers={"WWW-Authenticate": 'Bearer realm="newsletter"'})
        given = token.strip().encode("latin-1")
        # Compared with every key, not stopping at the first match: the time taken does not
        # tell which key (or how much of one) was right.
        matches = [name for name, key in self._keys if hmac.compare_digest(given, key)]
        if not matches:
            raise ApiError(401, "unknown API key",
                           headers={"WWW-Authenticate": 'Bearer realm="newsletter", error="invalid_token"'})
        return matches[0]

    # Schema ------------------------------------------------------------------------------------

    async def getOpenApi(self, request: Request) -> Response:  # noqa: N802 (operation id)
        catalogue = self.centre.catalogue()
        return JSONResponse(document(catalogue.locales, catalogue.product_groups, catalogue.attributes,
                                     self.extensions))

    # Customers ---------------------------------------------------------------------------------

    async def upsertCustomer(self, request: Request) -> Response:  # noqa: N802
        external_id = request.path_params["external_id"]
        body = await json_object(request, MAX_BODY_BYTES)
        catalogue = self.centre.catalogue()
        data = customer_input(body, external_id, catalogue)
        overwrite = bool_param(request, "overwrite_preferences")

        def work() -> tuple[str, dict[str, str], dict[str, Any], set[str]]:
            with self._writing(request) as session:
                try:
                    upserted = store.upsert_many(session, [data], Channel.API, default_locale=catalogue.default_locale,
                                                 overwrite_preferences=overwrite)
                except Conflicts as conflicts:
                    raise ApiError(409, "another customer already has this email", conflicts.errors[0]) from None
                queued = self._queue(session, [data.external_id] if upserted.outcomes[0] == "created" else [])
                customer = store.get_customer_by_external_id(session, data.external_id)
                result = customer_json(customer, store.get_preference(session, customer.id))
                session.commit()
                return upserted.outcomes[0], upserted.kept.get(0, {}), result, queued

        outcome, kept, customer, confirmations = await run_in_threadpool(work)
        self._queued(confirmations)
        status = 201 if outcome == "created" else 200
        # Percent-encoded: an id may hold any character, a header only Latin-1 (found by the fuzz).
        headers = {"Location": quote(request.url.path, safe="/:@")} if status == 201 else None
        return JSONResponse({"result": outcome, "kept": kept, "customer": customer,
                             **confirmation_json(confirmations, data.external_id)}, status_code=status, headers=headers)

    async def upsertCustomers(self, request: Request) -> Response:  # noqa: N802
        body = await json_object(request, MAX_BATCH_BODY_BYTES)
        catalogue = self.centre.catalogue()
        items, parsed = parse_batch(body, catalogue)
        overwrite = bool_param(request, "overwrite_preferences")

        def work() -> tuple[store.Upserted, set[str]]:
            with self._writing(request) as session:
                try:
                    upserted = store.upsert_many(session, parsed, Channel.API, default_locale=catalogue.default_locale,
                                                 overwrite_preferences=overwrite)
                except Conflicts as conflicts:
                    session.rollback()
                    raise batch_error(conflicts.errors, items, "conflicting", status=409) from None
                queued = self._queue(session, [item.external_id for item, outcome in zip(parsed, upserted.outcomes)
                                               if outcome == "created"])
                session.commit()
                return upserted, queued

        upserted, confirmations = await run_in_threadpool(work)
        outcomes = upserted.outcomes
        self._queued(confirmations)
        return JSONResponse({
            **{name: outcomes.count(name) for name in ("created", "updated", "unchanged")},
            "results": [{"index": index, "external_id": item.external_id, "result": outcome,
                         "kept": upserted.kept.get(index, {}), **confirmation_json(confirmations, item.external_id)}
                        for index, (item, outcome) in enumerate(zip(parsed, outcomes))],
        })

    async def getCustomer(self, request: Request) -> Response:  # noqa: N802
        external_id = path_id(request)

        def work() -> dict[str, Any]:
            with Session(self.centre.engine) as session:
                return customer_json(*store.get_customer_with_preference(session, external_id=external_id))

        return JSONResponse(await run_in_threadpool(work))

    # Preferences -------------------------------------------------------------------------------

    async def getPreferences(self, request: Request) -> Response:  # noqa: N802
        external_id = path_id(request)

        def work() -> dict[str, Any]:
            with Session(self.centre.engine) as session:
                return preferences_json(*store.get_customer_with_preference(session, external_id=external_id))

        preferences = await run_in_threadpool(work)
        return JSONResponse(preferences, headers={"ETag": etag(preferences["version"])})

    async def changePreferences(self, request: Request) -> Response:  # noqa: N802
        external_id = path_id(request)
        catalogue = self.centre.catalogue()
        body = PatchBody.of(await json_object(request, MAX_BODY_BYTES), catalogue)
        from_header = "if-match" in request.headers
        today = self.centre.today()

        def work() -> tuple[list[str], dict[str, Any]]:
            with self._writing(request) as session:
                customer = store.get_customer_by_external_id(session, external_id)
                if body.problems:
                    # The model refused some fields: the domain checks the others without writing,
                    # so the answer names every bad field at once.
                    with body.reported():
                        store.check_choices(session.connection(), customer.id, body.changes, today=today,
                                            known_groups=catalogue.product_groups, locales=catalogue.locales)
                # Then the precondition: 400 for a malformed If-Match, 428 without one.
                expected = expected_version(request.headers.get("if-match"), body.version)
                try:
                    events = store.change_preferences(
                        session, customer, body.changes, Channel.API, expected,
                        today=today, known_groups=catalogue.product_groups, locales=catalogue.locales)
                except StaleForm as stale:
                    status, how = (412, "If-Match") if from_header else (409, "version")
                    raise ApiError(status, f"the preferences changed since version {stale.expected_version} "
                                           f"(now {stale.current_version}); read them again",
                                   {"If-Match" if from_header else "version":
                                    f"stale: current version is {stale.current_version}"},
                                   headers={"ETag": etag(stale.current_version)},
                                   current_version=stale.current_version) from None
                result = preferences_json(customer, store.get_preference(session, customer.id))
                session.commit()
                return [event.field for event in events], result

        changed, preferences = await run_in_threadpool(work)
        return JSONResponse({"preferences": preferences, "changed": changed},
                            headers={"ETag": etag(preferences["version"])})

    async def unsubscribeCustomer(self, request: Request) -> Response:  # noqa: N802
        external_id = path_id(request)

        def work() -> bool:
            with self._writing(request) as session:
                customer = store.get_customer_by_external_id(session, external_id)
                changed = store.unsubscribe(session, customer, Channel.API)
                session.commit()
                return changed

        changed = await run_in_threadpool(work)
        return JSONResponse({"external_id": external_id, "status": "unsubscribed", "changed": changed})

    async def listConsentEvents(self, request: Request) -> Response:  # noqa: N802
        external_id = path_id(request)
        after = int_param(request, "after", 0, 0, _MAX_ID)
        limit = int_param(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)

        def work() -> list[ConsentEvent]:
            with Session(self.centre.engine) as session:
                customer = store.get_customer_by_external_id(session, external_id)
                # One more than asked for: tells whether there is a next page.
                return list(session.scalars(
                    select(ConsentEvent)
                    .where(ConsentEvent.customer_id == customer.id, ConsentEvent.id > after)
                    .order_by(ConsentEvent.id).limit(limit + 1)))

        events = await run_in_threadpool(work)
        page = events[:limit]
        return JSONResponse({"events": [event_json(event) for event in page],
                             "next_after": page[-1].id if len(events) > limit else None})

    def _queue(self, session: Session, created: list[str]) -> set[str]:
        """Queue a confirmation for each of these new customers who is pending, in the
        transaction that created them."""
        ttl = self.centre.confirm_ttl
        return set(queue_for_new_pending(session.connection(), created, Channel.API, ttl)) if created else set()

    def _queued(self, queued: set[str]) -> None:
        if queued and self.on_queued is not None:
            self.on_queued()

    @contextmanager
    def _writing(self, request: Request) -> Iterator[Session]:
        """A session for one request's writes, whose consent events name the request's API key.
        for_writes: SQLite's write lock is taken at BEGIN, so concurrent writers queue."""
        with consent.acting_as(getattr(request.state, "api_key", None)), \
                Session(self.centre.write_engine, expire_on_commit=False) as session:
            yield session
