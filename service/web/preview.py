"""Staff preview pages: every template, edition, segment and locale, as recipients will get it.

`/preview` lists the templates with their next editions; a page per variant shows the email in a
sandboxed iframe beside its assembly trace and plain-text part. Content is checked again whenever
any file under content/ changes, so an editor's save shows on the next request."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route, Router

from service.assembly.digest import due_digests
from service.assembly.edition import Assembly, Edition
from service.assembly.recipient import Recipient
from service.assembly.render import GMAIL_CLIP_BYTES, Renderer, CompiledVariant
from service.content.check import CheckResult, check_content, content_version
from service.content.markup.compose import RenderError
from service.content.markup.mjml import MjmlError
from service.content.model import Content, Template
from service.content.problems import ContentError, Problem
from service.settings import Settings
from service.web.staff import PREFIX, STAFF_HEADERS, authorize_staff, page
from service.web.preview_digests import DigestRankings
from service.web.preview_links import SAMPLE, Target, navigation, variant_href
from service.web.web_version import EMAIL_CSP

UPCOMING = 8  # editions listed per template on the index
MAX_NAME = 100  # as long as an imported first name may be
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = {"1", "true", "on", "yes"}


@dataclass
class _Loaded:
    """One version of content/: its check, a renderer and editions that are only valid for it."""

    version: str | None
    today: date
    result: CheckResult
    renderer: Renderer
    editions: dict = field(default_factory=dict)

    def content(self) -> Content:
        if self.result.content is None:
            raise ContentError(self.result.errors)
        return self.result.content

    def edition(self, template: Template, day: date, drafts: bool) -> Edition:
        key = (template.id, day, drafts)
        found = self.editions.get(key)
        if found is None:
            if len(self.editions) >= 256:  # staff browse a handful; don't grow without bound
                self.editions.clear()
            found = self.editions[key] = Edition(self.content(), template, day, drafts=drafts)
        return found


class LiveCheck:
    """The check of a content folder as of its current content_version (exact: every file's bytes)."""

    def __init__(self, root: Path, new_renderer: Callable[[], Renderer]):
        self.root, self.new_renderer = Path(root), new_renderer
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def current(self, today: date) -> _Loaded:
        try:
            version: str | None = content_version(self.root)
        except OSError:  # a file vanished while being read: check again, and next time too
            version = None
        with self._lock:
            loaded = self._loaded
            if loaded is None or version is None or (loaded.version, loaded.today) != (version, today):
                # A fresh renderer per version drops the old version's compiled variants.
                renderer = loaded.renderer if loaded and loaded.version == version else self.new_renderer()
                loaded = self._loaded = _Loaded(version, today, check_content(self.root, today), renderer)
            return loaded


@dataclass(frozen=True)
class _Shown:
    loaded: _Loaded
    target: Target
    edition: Edition
    variant: CompiledVariant
    recipient: Recipient


class PreviewPages:
    """The staff preview: index, variant page and the email alone."""

    def __init__(self, settings: Settings, new_renderer: Callable[[], Renderer],
                 today: Callable[[], date] = date.today, engine=None):
        self.password = settings.preview_password
        self.today = today
        self.rankings = DigestRankings(settings.database_url, engine)  # a digest's ranking, read only
        self.live = LiveCheck(settings.content_dir, new_renderer)
        variant = PREFIX + "/{template}/{date}/{segment}/{locale}"
        self.urls = Router([Route(PREFIX, self.index, methods=["GET"], name="preview_index"),
                            Route(variant, self.variant, methods=["GET"], name="preview_variant"),
                            Route(variant + "/email.html", self.email, methods=["GET"], name="preview_email")])

    def routes(self) -> list[BaseRoute]:
        return list(self.urls.routes)

    # -- endpoints (sync: checking and compiling are CPU work, Starlette runs them in a thread) --
    def index(self, request: Request) -> HTMLResponse:
        self._authorize(request)
        today = self.today()
        loaded = self.live.current(today)
        content = loaded.content()
        start = _parse_date(request.query_params.get("from") or today.isoformat())
        drafts = request.query_params.get("drafts", "").lower() in _TRUE
        templates = [self._template_overview(loaded, t, start, drafts)
                     for t in sorted(content.templates.values(), key=lambda t: t.id)]
        return HTMLResponse(page("preview_index.html", content=content, templates=templates, start=start,
                                 drafts=drafts, warnings=loaded.result.warnings, today=today),
                            headers=STAFF_HEADERS)

    def variant(self, request: Request) -> HTMLResponse:
        shown = self._shown(request)
        t, edition, variant, recipient = shown.target, shown.edition, shown.variant, shown.recipient
        renderer, assembly = shown.loaded.renderer, variant.assembly
        html = renderer.html(edition, variant, recipient)
        content = shown.loaded.content()
        context = dict(
            content=content, t=t, assembly=assembly, html=html, subject=renderer.subject(edition, variant, recipient),
            text=renderer.text(edition, variant, recipient).replace("\r\n", "\n"),
            size=len(html.encode("utf-8")), longest=variant.longest_html(), clip=GMAIL_CLIP_BYTES,
            unsubscribe_at=variant.unsubscribe_offset(), nav=navigation(content, t, edition.arms.experiments_in(assembly)),
            hidden_drafts=sorted({r.block for f in assembly.fills for r in f.rejected if r.reason == "draft"}),
            segment=assembly.segment, places={r.block: r for f in assembly.fills for r in f.ranking},
        )
        return HTMLResponse(page("preview_variant.html", **context), headers=STAFF_HEADERS)

    def email(self, request: Request) -> HTMLResponse:
        shown = self._shown(request)
        html = shown.loaded.renderer.html(shown.edition, shown.variant, shown.recipient)
        return HTMLResponse(html, headers={"Content-Security-Policy": EMAIL_CSP, "Cache-Control": "no-store"})

    # -- shared steps --------------------------------------------------------------------------
    def _authorize(self, request: Request) -> None:
        authorize_staff(request, self.password)

    def _shown(self, request: Request) -> "_Shown":
        """The variant a URL names, compiled, with its sample recipient."""
        loaded, target = self._target(request)
        edition = loaded.edition(target.template, target.day, target.drafts)
        segment = loaded.content().audience.segment(target.segment_id)
        digest = target.template.digest_for(target.pace) if target.pace else None
        if digest is not None:  # a best-of edition: by the ranking a send decided, else as measured now
            edition = Edition(loaded.content(), target.template, target.day, drafts=target.drafts,
                              rankings=self.rankings(loaded.content(), target.template, target.day))
        try:  # each experiment of the variant shows the arm the URL names, else the original (arm a)
            assembly = edition.assemble(segment, target.locale, target.excluded, arms=dict(target.arms), digest=digest)
        except ValueError as exc:
            raise HTTPException(404, str(exc)) from exc
        variant = _compile(loaded.renderer, edition, assembly)
        recipient = Recipient(public_id=SAMPLE.public_id, email=SAMPLE.email, first_name=target.name,
                              locale=target.locale)
        return _Shown(loaded, target, edition, variant, recipient)

    def _target(self, request: Request) -> tuple[_Loaded, Target]:
        """The variant a URL names, or 400/404 saying what is wrong with it."""
        self._authorize(request)
        params, query = request.path_params, request.query_params
        day = _parse_date(params["date"])
        loaded = self.live.current(self.today())
        content = loaded.content()
        template = content.templates.get(params["template"])
        if template is None:
            raise HTTPException(404, f"There is no template {params['template']!r}. "
                                     f"Templates: {', '.join(sorted(content.templates))}.")
        if not template.schedule.is_edition(day):
            raise HTTPException(404, f"{template.label} has no edition on {day.isoformat()} "
                                     f"(a {day.strftime('%A')}).")
        if content.audience.segment(params["segment"]) is None:
            raise HTTPException(404, f"There is no segment {params['segment']!r}. Segments: "
                                     f"{', '.join(s.id for s in content.audience.segments)}.")
        if params["locale"] not in content.audience.locales:
            raise HTTPException(404, f"There is no locale {params['locale']!r}. Locales: "
                                     f"{', '.join(content.audience.locales)}.")
        excluded = tuple(dict.fromkeys(g.strip() for raw in query.getlist("exclude")
                                       for g in raw.split(",") if g.strip()))
        unknown = [g for g in excluded if g not in content.product_groups]
        if unknown:
            raise HTTPException(400, f"Unknown product group(s): {', '.join(unknown)}. Product groups: "
                                     f"{', '.join(content.product_groups)}.")
        arms = dict(raw.partition("=")[::2] for raw in query.getlist("arm"))
        unknown = [e for e in arms if e not in content.experiments]
        if unknown:
            raise HTTPException(404, f"There is no experiment {', '.join(map(repr, unknown))}. Experiments: "
                                     f"{', '.join(content.experiments) or 'none'}.")
        name, pace = query.get("name"), query.get("pace") or None
        if pace is not None and template.digest_for(pace) not in due_digests(template, day):
            raise HTTPException(404, f"{template.label} has no best-of edition for {pace!r} readers on "
                                     f"{day.isoformat()}.")
        return loaded, Target(template, day, params["segment"], params["locale"], excluded,
                              query.get("drafts", "").lower() in _TRUE,
                              SAMPLE.first_name if name is None else name[:MAX_NAME], self.urls,
                              tuple(sorted(arms.items())), pace)

    def _template_overview(self, loaded: _Loaded, template: Template, start: date, drafts: bool) -> dict:
        content = loaded.content()
        rows = []
        for day in _upcoming(template, start):
            edition = loaded.edition(template, day, drafts)
            cells = []
            for segment in content.audience.segments:
                links = []
                for locale in content.audience.locales:
                    skip = edition.assemble(segment, locale).skip_reason
                    links.append({"locale": locale, "skip": skip,
                                  "href": variant_href(self.urls, template.id, day, segment.id, locale,
                                                       drafts=drafts)})
                cells.append(links)
            rows.append({"day": day, "cells": cells})
        return {"template": template, "rows": rows}


def _parse_date(raw: str) -> date:
    try:
        if _ISO_DATE.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise HTTPException(400, f"{raw!r} is not a date like 2026-11-23.")


def _upcoming(template: Template, start: date) -> list[date]:
    found: list[date] = []
    try:
        for day in template.schedule.editions(start, date.max):
            found.append(day)
            if len(found) == UPCOMING:
                break
    except OverflowError:  # near year 9999: list what there is
        pass
    return found


def _compile(renderer: Renderer, edition: Edition, assembly: Assembly) -> CompiledVariant:
    # The check compiled every block once; a block can still fail for one date or segment.
    try:
        return renderer.variant(edition, assembly)
    except RenderError as exc:
        raise ContentError([Problem(exc.path, exc.line, exc.message)]) from exc
    except MjmlError as exc:
        raise ContentError([Problem(edition.template.layout_path, 1,
                                    f"this variant's MJML does not compile: {exc}")]) from exc
