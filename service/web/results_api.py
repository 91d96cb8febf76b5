"""``GET /api/results``: the figures of ``newsletter results`` and the results pages as JSON, for
the operator's tools (a BI export, a dashboard). Served by the operator API (the same bearer
keys, the same JSON errors, unknown parameters refused) and described in its OpenAPI document,
as an extension: the API is the preference centre's, the results are the service's."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from preferences.web.api.inputs import ApiError
from preferences.web.api.openapi import Extension, Operation
from service.results.deliverability import COMPLAINT_RATE, HARD_BOUNCE_RATE, deliverability_by_edition
from service.results.export import EDITION_COLUMNS, LINK_COLUMNS, records
from service.results.figures import BY, choose_period, results_by
from service.results.refresh import refreshed_at

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NAME = {"type": "string", "minLength": 1, "maxLength": 64}
PARAMETERS = {
    "ResultsTemplate": {"name": "template", "in": "query", "required": False, "schema": {**_NAME, "default": "weekly"},
                        "description": "The template (newsletter), e.g. weekly"},
    "ResultsFrom": {"name": "from", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
                    "description": "The first edition date (with `to`, a range; default: see `by`)"},
    "ResultsTo": {"name": "to", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
                  "description": "The last edition date"},
    "ResultsBy": {"name": "by", "in": "query", "required": False,
                  "schema": {"type": "string", "enum": list(BY), "default": "edition"},
                  "description": "The dimension; without dates, `edition` covers the last 8 editions with results, "
                                 "anything else the latest"},
    "ResultsTeam": {"name": "team", "in": "query", "required": False, "schema": _NAME,
                    "description": "Only this team's blocks and links"},
}
_COUNT = {"type": "integer", "minimum": 0}
_RATE = {"type": "number", "minimum": 0}
_ROW_PROPERTIES = {
    "key": {"type": "string"}, "title": {"type": "string"}, "team": {"type": "string"},
    "recipients": _COUNT, "delivered": _COUNT, "measured": _COUNT, "clickers": _COUNT, "clicks": _COUNT, "click_rate": _RATE,
    "machine_clicks": _COUNT, "unsubscribes": _COUNT, "unsubscribe_rate": _RATE, "narrowed": _COUNT,
    "narrowed_rate": _RATE, "changes": {"type": "object", "additionalProperties": _COUNT},
    "segments": {"type": "array", "items": {"type": "string"}}, "url": {"type": "string"},
    # By edition: bounce and complaint rates over the messages handed over (distinct recipients).
    "sent": {**_COUNT, "description": "Messages handed over (the ledger's sent deliveries): the rates' base"},
    "hard_bounces": _COUNT, "hard_bounce_rate": _RATE, "soft_bounces": _COUNT, "soft_bounce_rate": _RATE,
    "complaints": _COUNT, "complaint_rate": _RATE,
    "warnings": {"type": "array", "items": {"type": "string", "enum": [COMPLAINT_RATE, HARD_BOUNCE_RATE]},
                 "description": "The limits passed: complaint rate over 0.1%, hard-bounce rate over 2%"},
}
assert set(_ROW_PROPERTIES) == set(EDITION_COLUMNS) | set(LINK_COLUMNS)
SCHEMAS = {
    "Results": {
        "type": "object", "additionalProperties": False,
        "required": ["template", "by", "from", "to", "team", "refreshed_at", "rows"],
        "properties": {
            "template": {"type": "string"}, "by": {"type": "string", "enum": list(BY)},
            "from": {"type": ["string", "null"], "format": "date"}, "to": {"type": ["string", "null"], "format": "date"},
            "team": {"type": ["string", "null"]},
            "refreshed_at": {"type": ["string", "null"], "format": "date-time",
                             "description": "When the rollups were last written (`newsletter results refresh`)"},
            "rows": {"type": "array", "items": {"type": "object", "additionalProperties": False, "required": ["key"],
                                                "properties": _ROW_PROPERTIES}},
        },
    },
}
OPERATION = Operation(
    "GET", "/results", "getResults", "Results of the sends by edition, segment, variant, block, team, link or "
    "product group",
    "Unique clickers, clicks and click rate over the recipients who got what is measured (machine clicks apart), "
    "unsubscribes from the editions' links and the narrower choices made instead. Read from the rollups that "
    "`newsletter results refresh` writes (`refreshed_at`). By edition, also the messages handed over (`sent`) and "
    "the recipients reported as hard bounces, soft bounces and complaints with their rates over `sent`, and "
    "`warnings` where a rate is over its limit (complaints over 0.1%, Gmail's bulk sender guidelines; hard "
    "bounces over 2%).",
    ok=(200, "The figures, ranked by click rate for blocks, teams, links and groups", "Results"), errors=(400,),
    parameters=tuple(PARAMETERS))


def extension(engine: Engine) -> Extension:
    """The results operation for the API's routes and document."""
    async def get_results(request: Request) -> Response:
        params = request.query_params
        template = params.get("template", "weekly")
        by = params.get("by", "edition")
        team = params.get("team")
        if not 1 <= len(template) <= 64:
            raise ApiError(400, "template must be a template's name", {"template": "1 to 64 characters"})
        if by not in BY:
            raise ApiError(400, f"by must be one of {', '.join(BY)}", {"by": f"not one of {', '.join(BY)}"})
        if team is not None and not 1 <= len(team) <= 64:
            raise ApiError(400, "team must be a team's name", {"team": "1 to 64 characters"})
        first, last = _day(params, "from"), _day(params, "to")
        if first and last and first > last:
            raise ApiError(400, "from is after to", {"from": f"{first} is after to={last}"})

        def work() -> dict:
            with engine.connect() as conn:
                period = choose_period(conn, template, by, first, last)
                rows = results_by(conn, period, by, team) if period else []
                rates = deliverability_by_edition(conn, period) if period and by == "edition" else {}
                refreshed = refreshed_at(conn)
            return {"template": template, "by": by, "team": team,
                    "from": _iso(period.first) if period else None, "to": _iso(period.last) if period else None,
                    "refreshed_at": refreshed.isoformat() if refreshed else None, "rows": records(rows, by, rates)}

        return JSONResponse(await run_in_threadpool(work))

    return Extension((OPERATION,), {OPERATION.operation_id: get_results}, PARAMETERS, SCHEMAS)


def _day(params, name: str) -> date | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"{name} must be a date like 2026-11-23", {name: "not a date"}) from None


def _iso(day: date) -> str | None:
    return None if day in (date.min, date.max) else day.isoformat()
