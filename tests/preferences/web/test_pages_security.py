"""Bad links, CSRF, escaping and headers of the preference pages."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from preferences.links import LinkSigner, Purpose
from preferences.models import new_public_id
from preferences.web import errors
from preferences.web.csrf import protect
from test_pages_support import SECRET, as_form, edit, form_fields, parse, site  # noqa: F401


def bad_tokens(site, public_id: str, purpose: Purpose) -> dict[str, str]:
    good = site.signer.sign(public_id, purpose)
    other = Purpose.UNSUBSCRIBE if purpose is not Purpose.UNSUBSCRIBE else Purpose.PREFERENCES
    flipped = good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:]
    return {
        "tampered": flipped,
        "truncated": good[:-1],
        "other purpose": site.signer.sign(public_id, other),
        "other key": LinkSigner([b"x" * 32]).sign(public_id, purpose),
        "unknown customer": site.signer.sign(new_public_id(), purpose),
        "garbage": "%3Cscript%3E",
        "long": "A" * 5000,
    }


@pytest.mark.parametrize("method, prefix, purpose", [
    ("GET", "/preferences/", Purpose.PREFERENCES),
    ("POST", "/unsubscribe/", Purpose.UNSUBSCRIBE),
    ("GET", "/unsubscribe/", Purpose.UNSUBSCRIBE),
    ("GET", "/confirm/", Purpose.CONFIRM),
])
def test_every_bad_link_gets_the_same_friendly_404(site, method, prefix, purpose):
    public_id = site.customer(first_name="Secretname")
    bodies = set()
    for reason, token in bad_tokens(site, public_id, purpose).items():
        response = site.client.request(method, prefix + token, data={"List-Unsubscribe": "One-Click"}
                                       if method == "POST" else None)
        assert response.status_code == 404, reason
        assert response.headers["referrer-policy"] == "no-referrer"
        bodies.add(response.text)
    assert len(bodies) == 1
    [body] = bodies
    assert "Dieser Link funktioniert nicht" in body and "This link does not work" in body
    assert "Secretname" not in body and "Traceback" not in body
    assert site.state(public_id)["status"] == "active" and site.events(public_id) == []


def test_bad_links_on_the_page_forms_are_404_too(site):
    public_id = site.customer()
    page = site.client.get(site.path(public_id)).text
    token = form_fields(page, site.path(public_id))
    for suffix in ("", "/unsubscribe", "/resubscribe"):
        response = site.client.post("/preferences/" + "A" * 22 + "." + "B" * 22 + suffix, data=as_form(token))
        assert response.status_code == 404


def test_post_without_csrf_token_is_refused_and_changes_nothing(site):
    public_id = site.customer(locale="en")
    path = site.path(public_id)
    fields = edit(form_fields(site.client.get(path).text, path), frequency="monthly")
    for without in (edit(fields, csrftoken=None), edit(fields, csrftoken="forged")):
        response = site.client.post(path, data=as_form(without))
        assert response.status_code == 403
        assert "This form has expired" in response.text and f'href="{path}"' in response.text
        assert response.headers["referrer-policy"] == "no-referrer"
    # Without any cookie (a cross-site form that cannot read ours), even with a token.
    response = TestClient(site.client.app).post(path, data=as_form(fields))
    assert response.status_code == 403
    for action in (f"{path}/unsubscribe", f"{path}/resubscribe"):
        assert site.client.post(action, data={}).status_code == 403
    assert site.state(public_id)["status"] == "active" and site.events(public_id) == []
    # With the token the same form is saved.
    assert site.client.post(path, data=as_form(fields)).status_code == 200


def test_the_confirm_post_is_csrf_protected(site):
    public_id = site.customer(locale="en")
    site.client.post(site.path(public_id, Purpose.UNSUBSCRIBE), data={"List-Unsubscribe": "One-Click"})
    page = site.client.get(site.path(public_id)).text
    site.client.post(site.path(public_id) + "/resubscribe",
                     data=as_form(form_fields(page, site.path(public_id) + "/resubscribe")))
    confirm = site.confirmations[0].confirm_url.removeprefix("https://news.example")
    assert site.client.post(confirm, data={}).status_code == 403
    assert site.state(public_id)["status"] == "pending"


def test_a_first_name_arrives_escaped(site):
    public_id = site.customer(first_name="<img src=x onerror=alert(1)>", locale="en")
    html = site.client.get(site.path(public_id)).text
    assert "Hello &lt;img src=x onerror=alert(1)&gt;," in html
    assert "<img" not in html
    site.client.post(site.path(public_id, Purpose.UNSUBSCRIBE), data={"List-Unsubscribe": "One-Click"})
    html = site.client.get(site.path(public_id)).text
    assert "&lt;img src=x onerror=alert(1)&gt;, you no longer get our newsletter." in html and "<img" not in html


def test_catalogue_labels_arrive_escaped(site):
    from test_pages_support import GROUPS, catalogue
    site.set_catalogue(catalogue({**GROUPS, "evil": {"de": "<script>x()</script>", "en": "<script>x()</script>"}}))
    public_id = site.customer(locale="en")
    html = site.client.get(site.path(public_id)).text
    assert "&lt;script&gt;x()&lt;/script&gt;" in html and "<script" not in html


def test_headers_of_every_page(site):
    public_id = site.customer(locale="en")
    responses = [
        site.client.get(site.path(public_id)),
        site.client.get(site.path(public_id, Purpose.UNSUBSCRIBE)),
        site.client.get("/preferences/nonsense"),
        site.client.post(site.path(public_id), data={}),  # CSRF refusal
        site.client.post(site.path(public_id, Purpose.UNSUBSCRIBE), data={"List-Unsubscribe": "One-Click"}),
    ]
    for response in responses:
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
        assert '<meta name="referrer" content="no-referrer">' in response.text
        # No third-party resources and no scripts at all.
        assert "<script" not in response.text and "<link" not in response.text
        assert not re.search(r'(src|href)="(https?:)?//', response.text)


def test_no_email_address_or_database_id_in_any_url(site):
    public_id = site.customer(locale="en")
    site.customer(n=2)
    urls = []
    for path in (site.path(public_id), site.path(public_id, Purpose.UNSUBSCRIBE)):
        urls += parse(site.client.get(path).text).urls
    site.client.post(site.path(public_id, Purpose.UNSUBSCRIBE), data={"List-Unsubscribe": "One-Click"})
    urls += parse(site.client.get(site.path(public_id)).text).urls
    assert len(urls) >= 5
    for url in urls:
        assert "@" not in url and "%40" not in url
        assert re.fullmatch(r"/(preferences|unsubscribe|confirm)/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}"
                            r"(/unsubscribe|/resubscribe)?(\?lang=[a-z]{2}|\?via=page)?", url), url


@pytest.mark.parametrize("purpose", [Purpose.PREFERENCES, Purpose.UNSUBSCRIBE])
@pytest.mark.parametrize("content_type, body, status", [
    ("multipart/form-data", b"--x\r\n", 400),                               # no boundary
    ("multipart/form-data; boundary=x", b"--x\r\nnonsense", 400),
    ("application/x-www-form-urlencoded", b"csrftoken=\xff\xfe", 400),      # not UTF-8
    ("application/json", b"{}", 403),  # not a form: the page's CSRF check refuses it
])
def test_unreadable_bodies_are_refused_politely(site, purpose, content_type, body, status):
    public_id = site.customer()
    path = site.path(public_id, purpose)
    site.client.get(path)
    response = site.client.post(path, content=body, headers={"Content-Type": content_type})
    if purpose is Purpose.UNSUBSCRIBE:
        # No CSRF check on the one-click URL: whatever the body, without the one-click field it
        # is a 400 that changes nothing.
        status = 400
    assert response.status_code == status
    assert "Traceback" not in response.text and "<html" in response.text
    assert site.events(public_id) == []


def test_a_huge_body_is_refused(site):
    public_id = site.customer()
    response = site.client.post(site.path(public_id, Purpose.UNSUBSCRIBE), content=b"a" * 70_000,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413 and site.state(public_id)["status"] == "active"


def test_protect_leaves_other_paths_alone():
    async def other(request):
        return PlainTextResponse("ok")

    app = protect(Starlette(routes=[Route("/api/thing", other, methods=["POST"])]), SECRET)
    client = TestClient(app, cookies={"csrftoken": "whatever"})
    assert client.post("/api/thing", data={"a": "b"}).text == "ok"


def test_protect_secure_uses_a_host_only_secure_cookie():
    async def page(request):
        from preferences.web.csrf import form_token
        return PlainTextResponse(form_token(request.scope))

    app = protect(Starlette(routes=[Route("/preferences/x", page)]), SECRET, secure=True)
    response = TestClient(app, base_url="https://testserver").get("/preferences/x")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-csrftoken=") and "Secure" in cookie and "Path=/" in cookie
    assert cookie.endswith("; HttpOnly") and cookie.count("HttpOnly") == 1
    with pytest.raises(ValueError):
        protect(app, b"")


def test_protect_works_as_a_starlette_middleware_factory(site):
    from starlette.middleware import Middleware

    from preferences.web.pages import routes
    from test_pages_support import catalogue
    from preferences.web.centre import Centre
    from preferences.database import for_writes

    centre = Centre(engine=site.engine, write_engine=for_writes(site.engine), signer=site.signer,
                    base_url="https://news.example", catalogue=catalogue, csrf_secret=SECRET)
    app = Starlette(routes=routes(centre), exception_handlers=errors.handlers(), middleware=[Middleware(protect, secret=SECRET, secure=False)])
    client = TestClient(app)
    public_id = site.customer()
    path = site.path(public_id)
    page = client.get(path)
    assert page.status_code == 200 and "csrftoken=" in page.headers["set-cookie"]
    assert "HttpOnly" in page.headers["set-cookie"]  # no script needs it: the token is a form field
    assert client.post(path, data={"version": "1"}).status_code == 403
    assert client.post(path, data=as_form(form_fields(page.text, path))).status_code == 200


def test_urlencoded_forms_read_like_a_browser_sends_them():
    from preferences.web.form_input import MAX_FORM_FIELDS, _urlencoded

    form = _urlencoded(b"shown=garden&shown=kids&groups=kids&pause_until=&locale=de&name=J%C3%BCrgen+M%C3%BCller"
                       b"&raw=\xc3\xbc&broken=%FF\xfe")
    assert form.getlist("shown") == ["garden", "kids"] and form.getlist("groups") == ["kids"]
    assert form["pause_until"] == "" and form["name"] == "Jürgen Müller" and form["raw"] == "ü"
    assert form["broken"] == "\ufffd\ufffd"
    with pytest.raises(ValueError):
        _urlencoded(b"&".join(b"f=%d" % n for n in range(MAX_FORM_FIELDS + 1)))
