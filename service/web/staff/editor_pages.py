"""The block editor, ``/edit``: a team's blocks and where they are used, and a form per block
that writes its file (``service.content.writing``) after the same check as ``newsletter check``.

``GET /edit/{team}`` lists the team's blocks; ``GET|POST /edit/{team}/{name}`` edits
``blocks/<team>/<name>.mjml`` and ``/edit/{team}/+new`` makes one. A POST either previews
(``action=preview``: checked and shown as a chosen segment gets it, nothing written) or saves:
every problem beside its field or body line and nothing written (422); someone else's save since
the form was opened shown beside the editor's own text, nothing overwritten (409); else the
file written, committed as the editor where the folder is a git work tree, the change recorded
(``block_change``, ``staff_event``), and the browser sent back to the block (303). Only a signed-in
account of the team (or an admin) gets any of it (403, on the POST too); who may set a block
ready is ``release``'s rule. German or English, no JavaScript."""

from __future__ import annotations

import re
from datetime import date
from typing import Callable

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from service.assembly.render import Renderer
from service.content.check import shown_name
from service.content.model import Content, Team
from service.content.problems import Problem
from service.content.writing import git
from service.content.writing.candidate import check_candidate
from service.content.writing.front_matter import compose
from service.content.writing.store import BlockStore, Conflict, SaveError, etag_of
from service.settings import Settings
from service.staff import block_changes
from service.web.preview import LiveCheck
from service.web.staff import block_preview, release
from service.web.staff.access import StaffAccess, authorize_staff
from service.web.staff.block_form import BlockForm, Placed, place
from service.web.staff.block_usage import team_rows
from service.web.staff.editor_texts import texts
from service.web.staff.forms import TOKEN_FIELD, form_ok, form_token, language
from service.web.staff.pages import EDIT_PREFIX, STAFF_HEADERS, page

NEW = "+new"
_SAFE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # a team or a locale as a file name part
MAX_PART = 600 * 1024  # a body of up to 512 KB, as a content file may be
_LISTS = ("product_groups", "segments")


class EditorPages:
    def __init__(self, settings: Settings, live: LiveCheck, new_renderer: Callable[[], Renderer],
                 access: StaffAccess, engine: Engine, today: Callable[[], date] = date.today) -> None:
        self.password, self.secret = settings.preview_password, settings.csrf_secret
        self.live, self.new_renderer, self.access, self.engine, self.today = live, new_renderer, access, engine, today
        self.store = BlockStore(settings.content_dir)

    def routes(self) -> list[BaseRoute]:
        block = EDIT_PREFIX + "/{team}/{name}"
        return [Route(EDIT_PREFIX, self.index, methods=["GET"], name="edit_index"),
                Route(EDIT_PREFIX + "/{team}", self.team, methods=["GET"], name="edit_team"),
                Route(block, self.show, methods=["GET"], name="edit_block"),
                Route(block, self.save, methods=["POST"], name="edit_block_save")]

    # -- pages ---------------------------------------------------------------------------
    def index(self, request: Request) -> Response:
        account = self._account(request, None)
        if account.team:
            return RedirectResponse(f"{EDIT_PREFIX}/{account.team}", status_code=303)
        content = self.live.current(self.today()).result.content
        teams = sorted(content.teams) if content else sorted(p.name for p in (self.store.root / "blocks").iterdir()
                                                             if p.is_dir())
        return self._page(request, "edit_index.html", teams=teams, account=account)

    def team(self, request: Request) -> Response:
        team = request.path_params["team"]
        account = self._account(request, team)
        today = self.today()
        loaded = self.live.current(today)
        content = loaded.result.content
        folder = self.store.root / "blocks" / team
        if (content is not None and team not in content.teams) or (content is None and not folder.is_dir()):
            raise HTTPException(404, f"There is no team {team!r}.")
        prefix = f"{shown_name(self.store.root)}/blocks/{team}/"
        broken = {f"{team}/{p.path[len(prefix):].removesuffix('.mjml')}" for p in loaded.result.errors
                  if p.path.startswith(prefix)}
        with self.engine.connect() as conn:
            changes = block_changes.latest_of_team(conn, team)
        rows = team_rows(folder, content, loaded.edition, team, today, changes, broken)
        return self._page(request, "edit_team.html", account=account, team=team, team_info=content and content.teams[team],
                          rows=rows, errors=loaded.result.errors, may_release=release.may_release(account, team))

    def show(self, request: Request) -> Response:
        team, name = request.path_params["team"], request.path_params["name"]
        account = self._account(request, team)
        current = self._read(team, name)
        if name == NEW:
            form = BlockForm(status="draft")
        else:
            form, _ = BlockForm.from_file(current.decode("utf-8", "replace"))  # type: ignore[union-attr]
        if form.status == release.READY and not release.may_release(account, team):
            form = form.with_status("draft")  # an editor's save makes it a draft again
        saved = request.query_params.get("saved")
        return self._form(request, account, team, name, form, etag=etag_of(current) if current else "",
                          notice="saved" if saved == "1" else "unchanged" if saved == "0" else None)

    async def save(self, request: Request) -> Response:
        team, name = request.path_params["team"], request.path_params["name"]
        await run_in_threadpool(self._account, request, team)
        raw = await request.form(max_files=0, max_fields=200, max_part_size=MAX_PART)
        return await run_in_threadpool(self._save, request, team, name, raw)

    # -- saving --------------------------------------------------------------------------
    def _save(self, request: Request, team: str, name: str, raw) -> Response:
        account = self._account(request, team)
        if not form_ok(request, raw.get(TOKEN_FIELD), self.secret, self.access.sessions.cookie):
            raise HTTPException(403, "This form was not sent from our own page (or the session changed): "
                                     "open the block again and repeat the change.")
        form = BlockForm.from_post(raw, {key: [str(v) for v in raw.getlist(key)][:100] for key in _LISTS})
        today = self.today()
        loaded = self.live.current(today)
        content = loaded.result.content
        default_locale = content.audience.default_locale if content else "de"
        new = name == NEW
        placed = Placed()
        if new:
            if form.name_problem():
                placed.add("name", Problem("", 1, texts(language(request))["name_rule"]))
            locale = form.locale if _SAFE.fullmatch(form.locale or "") else default_locale
            # A refused name is checked under a stand-in, never as a path of its own.
            name = f"{form.name if not form.name_problem() else 'new-block'}.{locale}"
        current = None if new else self._read(team, name)
        original = None if current is None else current.decode("utf-8", "replace")
        written = BlockForm.from_file(original)[1] if original is not None else {}
        form = form.of_file(written)
        values = form.values(written, default_locale)
        text = compose(original, values, form.body)
        text_changed = new or compose(original, {**values, "status": written.get("status")}, form.body) != original
        block_id = f"{team}/{name}"
        author = self._author(block_id, current) if current is not None else None
        team_info = content.teams.get(team) if content else None
        verdict = release.judge(account, team_info or _plain_team(team), None if new else str(written.get("status", "ready")),
                                form.status, text_changed, author)
        lang = language(request)
        relative = f"blocks/{team}/{name}.mjml"
        checked = check_candidate(self.store.root, relative, text, today, baseline=loaded.result)
        found = place(list(checked.own), text)
        for key, problems in placed.fields.items():
            found.fields.setdefault(key, []).extend(problems)
        found.general.extend(checked.elsewhere)
        if verdict.problem:
            found.add("status", Problem(checked.path, 1, texts(lang)[verdict.problem]))
        etag = str(raw.get("etag") or "")
        shown = None
        if raw.get("action") == "preview" or found.has_errors:
            if raw.get("action") == "preview" and checked.result.content is not None:
                shown = self._preview(checked.result.content, raw, form, block_id, today)
            status = 200 if raw.get("action") == "preview" else 422
            return self._form(request, account, team, NEW if new else name, form, etag=etag, placed=found,
                              shown=shown, status=status, candidate=checked.result.content, raw=raw)
        try:
            saved = self.store.save(team, name, text.encode("utf-8"), etag or None,
                                    git.Author(account.name, account.email),
                                    f"{block_id}: {'approved' if verdict.releases and not text_changed else 'edited'} "
                                    f"in the block editor by {account.name}")
        except Conflict as conflict:
            return self._form(request, account, team, NEW if new else name, form, status=409, placed=found,
                              etag=conflict.etag or "", conflict=conflict.current, raw=raw)
        except SaveError as exc:
            found.general.append(Problem(checked.path, 1, str(exc)))
            return self._form(request, account, team, NEW if new else name, form, etag=etag, placed=found,
                              status=503, raw=raw)
        if saved.etag != saved.previous:
            action = (block_changes.CREATED if new else block_changes.APPROVED
                      if verdict.releases and not text_changed else block_changes.EDITED)
            with self.engine.begin() as conn:
                block_changes.record_change(
                    conn, account, block=block_id, action=action, version=saved.etag, previous=saved.previous,
                    author=(author or "?") if action == block_changes.APPROVED else account.name,
                    status=form.status or "ready", git_commit=saved.commit)
        done = "1" if saved.etag != saved.previous else "0"
        return RedirectResponse(f"{EDIT_PREFIX}/{team}/{name}?saved={done}&lang={lang}", status_code=303,
                                headers={"Cache-Control": "no-store"})

    def _author(self, block_id: str, current: bytes) -> str | None:
        """Who wrote the version on disk: as the editor recorded it, else git's last author."""
        with self.engine.connect() as conn:
            found = block_changes.author_of(conn, block_id, etag_of(current))
        if found is not None:
            return found
        path = self.store.root / "blocks" / f"{block_id}.mjml"
        top = git.work_tree(path.parent)
        return git.last_author(top, path) if top is not None else None

    def _preview(self, content: Content, raw, form: BlockForm, block_id: str, today: date):
        chosen = block_preview.parse_choice(content, str(raw.get("preview_edition") or ""))
        if chosen is None:
            choices = block_preview.edition_choices(content, form.slot, today)
            chosen = block_preview.parse_choice(content, choices[0][0]) if choices else None
        if chosen is None:
            return None
        locale = form.locale or content.audience.default_locale
        return block_preview.render(self.new_renderer(), content, chosen[0], chosen[1],
                                    str(raw.get("preview_segment") or ""), locale, block_id)

    # -- shared steps --------------------------------------------------------------------
    def _account(self, request: Request, team: str | None):
        authorize_staff(request, self.password)
        if team is not None and not _SAFE.fullmatch(team):
            raise HTTPException(404, f"There is no team {team!r}.")
        account = getattr(request.state, "staff", None)
        return release.must_edit(account, team if team is not None else (account.team if account else "") or "")

    def _read(self, team: str, name: str) -> bytes | None:
        if name == NEW:
            return None
        try:
            data = self.store.read(team, name)
        except ValueError:
            data = None
        if data is None:
            raise HTTPException(404, f"There is no block {team}/{name}.")
        return data

    def _form(self, request: Request, account, team: str, name: str, form: BlockForm, *, etag: str,
              placed: Placed | None = None, status: int = 200, shown=None, conflict: bytes | None = None,
              notice: str | None = None, candidate: Content | None = None, raw=None) -> Response:
        today = self.today()
        content = candidate or self.live.current(today).result.content
        with self.engine.connect() as conn:
            history = block_changes.history_of(conn, f"{team}/{name}") if name != NEW else []
        choices = _choices(content, team, form, language(request))
        # An arm's slot and the rest are its original's: the checked content has them filled in.
        arm = content.blocks.get(f"{team}/{name}") if form.arm_of and content else None
        editions = block_preview.edition_choices(content, arm.slot if arm else form.slot, today) if content else []
        return self._page(
            request, "edit_block.html", status=status, account=account, team=team, block_name=name, new=name == NEW,
            form=form, arm=arm, etag=etag, placed=placed or Placed(), shown=shown, history=history, notice=notice,
            conflict=None if conflict is None else conflict.decode("utf-8", "replace"), removed=conflict is None and
            status == 409, choices=choices, editions=editions, may_release=release.may_release(account, team),
            token=form_token(request, self.secret, self.access.sessions.cookie), token_field=TOKEN_FIELD,
            preview_edition=str((raw or {}).get("preview_edition") or ""),
            preview_segment=str((raw or {}).get("preview_segment") or ""),
            four_eyes=bool(content and team in content.teams and content.teams[team].four_eyes))

    def _page(self, request: Request, template: str, *, status: int = 200, **context) -> Response:
        lang = language(request)
        switch = [(code, f"{request.url.path}?lang={code}") for code in ("de", "en") if code != lang]
        return HTMLResponse(page(template, lang=lang, t=texts(lang), switch=switch, prefix=EDIT_PREFIX, **context),
                            status_code=status, headers=STAFF_HEADERS)


def _plain_team(team: str) -> Team:
    """The team while the folder has errors (teams.yaml unread): no four-eyes known."""
    return Team(team, team, ())


def _choices(content: Content | None, team: str, form: BlockForm, lang: str) -> dict:
    """The declared values each field offers (plus what the form holds, so nothing is lost)."""
    def with_current(values: list, current) -> list:
        extra = [v for v in ([current] if isinstance(current, str) else current) if v and v not in values]
        return values + extra

    if content is None:
        return {"slots": with_current([], form.slot), "groups": [(g, g) for g in form.product_groups],
                "segments": with_current([], form.segments), "locales": with_current([], form.locale)}
    slots = sorted({s.name for t in content.templates.values() for s in t.slots if team in s.teams})
    groups = [(g.id, g.label(lang)) for g in content.product_groups.values()]
    groups += [(g, g) for g in form.product_groups if g not in content.product_groups]
    return {"slots": with_current(slots, form.slot), "groups": groups,
            "segments": with_current([s.id for s in content.audience.segments], form.segments),
            "locales": with_current(list(content.audience.locales), form.locale)}
