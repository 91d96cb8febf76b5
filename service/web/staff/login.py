"""Signing in and out of the staff pages: ``GET|POST /staff/login``, ``POST /staff/logout``.

German or English (the browser's language, or ``?lang=``), no JavaScript. A sign-in is limited
per client and per name (``limits``: a moving window, 10 tries per client and 5 per name every
15 minutes, then 429), answers the same for a wrong name and a wrong password, and is recorded
either way. POSTs are accepted only from this site's own pages (``Sec-Fetch-Site``, else
``Origin``): a form on another site can neither sign someone in nor out. After signing in,
the browser goes back to the staff page it came from (``next``, a path on this site only).
"""

from __future__ import annotations

from typing import Callable
from limits import parse, storage, strategies
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from preferences import translations
from preferences.consent import client_hash
from service.staff import accounts
from service.staff.passwords import Passwords
from service.web.staff.access import LOGIN_PATH, StaffAccess
from service.web.staff.forms import LANGUAGES, language as _language, same_site as _same_site
from service.web.staff.pages import PREFIX, STAFF_HEADERS, page

LOGOUT_PATH = "/staff/logout"
PER_CLIENT, PER_NAME = parse("10/15 minutes"), parse("5/15 minutes")


def _(message: str) -> str:
    return message  # marks the text for the catalogue; translated when the page is rendered


TEXTS = {
    "brand": _("Newsletter staff"),
    "title": _("Sign in"),
    "name": _("Name"),
    "password": _("Password"),
    "sign_in": _("Sign in"),
    "sign_out": _("Sign out"),
    "signed_in_title": _("Signed in"),
    "signed_in": _("You are signed in as %(name)s (%(role)s, %(team)s)."),
    "all_teams": _("all teams"),
    "preview": _("Preview"),
    "results": _("Results"),
    "wrong": _("The name or the password is not right."),
    "too_many": _("Too many attempts. Please wait a quarter of an hour and try again."),
    "foreign": _("This form was not sent from our own page."),
    "signed_out": _("You are signed out."),
}


def routes(access: StaffAccess, passwords: Passwords, storage_uri: str = "memory://") -> list[BaseRoute]:
    pages = _LoginPages(access, passwords, strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri)))
    return [Route(LOGIN_PATH, pages.show, methods=["GET"], name="staff_login"),
            Route(LOGIN_PATH, pages.sign_in, methods=["POST"], name="staff_login_save"),
            Route(LOGOUT_PATH, pages.sign_out, methods=["POST"], name="staff_logout")]


class _LoginPages:
    def __init__(self, access: StaffAccess, passwords: Passwords, limiter) -> None:
        self.access, self.passwords, self.limiter = access, passwords, limiter

    async def show(self, request: Request) -> Response:
        account = await run_in_threadpool(self.access.current, request)
        notice = "signed_out" if request.query_params.get("done") == "out" else None
        return self._page(request, account=account, notice=notice)

    async def sign_in(self, request: Request) -> Response:
        if not _same_site(request):
            return self._page(request, status=403, problem="foreign")
        form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
        name, password = str(form.get("name") or "")[:64], str(form.get("password") or "")
        target = _safe_next(str(form.get("next") or ""))
        client = request.client.host if request.client else ""
        if not (self.limiter.hit(PER_CLIENT, "staff-login", client) and self.limiter.hit(PER_NAME, "staff-login", name)):
            return self._page(request, status=429, problem="too_many", name=name, next_=target)
        who = client_hash(client, request.headers.get("user-agent"))

        def check() -> accounts.Account | None:
            with self.access.engine.begin() as conn:
                return accounts.sign_in(conn, self.passwords, name, password, who)

        account = await run_in_threadpool(check)
        if account is None:
            return self._page(request, status=401, problem="wrong", name=name, next_=target)
        response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
        response.headers.append("Set-Cookie", self.access.sessions.set_cookie_header(
            self.access.sessions.token(account.id, account.session_epoch)))
        return response

    async def sign_out(self, request: Request) -> Response:
        if not _same_site(request):
            return self._page(request, status=403, problem="foreign")
        account = await run_in_threadpool(self.access.current, request)
        if account is not None:
            def end() -> None:
                with self.access.engine.begin() as conn:
                    accounts.end_sessions(conn, account, by=account.name)
            await run_in_threadpool(end)
        response = RedirectResponse(f"{LOGIN_PATH}?done=out", status_code=303, headers={"Cache-Control": "no-store"})
        response.headers.append("Set-Cookie", self.access.sessions.clear_cookie_header())
        return response

    def _page(self, request: Request, *, status: int = 200, account: accounts.Account | None = None,
              problem: str | None = None, notice: str | None = None, name: str = "", next_: str | None = None
              ) -> Response:
        lang = _language(request)
        gettext: Callable[[str], str] = translations.for_locale(lang).gettext
        texts = {key: gettext(text) for key, text in TEXTS.items()}
        if account is not None:
            texts["signed_in"] %= {"name": account.name, "role": account.role,
                                   "team": account.team or texts["all_teams"]}
        switch = [(code, translations.language_name(code), f"{LOGIN_PATH}?lang={code}")
                  for code in LANGUAGES if code != lang]
        body = page("staff_login.html", lang=lang, t=texts, switch=switch, account=account,
                    problem=texts[problem] if problem else None, notice=texts[notice] if notice else None,
                    action=f"{LOGIN_PATH}?lang={lang}", logout=LOGOUT_PATH, given_name=name,
                    next=next_ or _safe_next(request.query_params.get("next", "")))
        return HTMLResponse(body, status_code=status, headers=STAFF_HEADERS)


def _safe_next(value: str) -> str:
    """Where to go after signing in: a path on this site (never ``//host`` or a URL elsewhere)."""
    if value.startswith("/") and not value.startswith(("//", "/\\")) and len(value) < 2000 and value.isprintable():
        return value
    return PREFIX
