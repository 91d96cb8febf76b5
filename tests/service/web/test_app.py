"""The web app: security headers, staff password, and domain errors as pages, never a traceback."""

from __future__ import annotations

import base64
import html

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from content_tree import write_tree
from service.content.check import check_content
from service.content.problems import ContentError, Problem
from service.settings import Settings
from service.web.app import create_app
from service.web.staff import is_loopback

VARIANT = "/preview/weekly/2026-11-23/vip/de"
LOCAL = ("127.0.0.1", 50000)  # a browser on this machine: staff pages open without a password


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def broken_route(request):
    raise RuntimeError("secret internals")


def content_route(request):
    raise ContentError([Problem("content/x.yaml", 3, "broken")])


def public_route(request):
    return PlainTextResponse("hello")


@pytest.fixture
def content(tmp_path):
    return write_tree(tmp_path)


@pytest.fixture
def client(content):
    routes = [Route("/hello", public_route), Route("/boom", broken_route), Route("/needs-content", content_route)]
    app = create_app(Settings(content_dir=content), extra_routes=routes)
    return TestClient(app, raise_server_exceptions=False, client=LOCAL)


# -- headers -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/preview", VARIANT, VARIANT + "/email.html", "/preview/weekly/x/vip/de"])
def test_staff_pages_carry_the_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["cache-control"] == "no-store"
    assert "default-src 'none'" in headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/hello", "/nowhere", "/boom"])
def test_every_other_response_carries_them_too(client, path):
    headers = client.get(path).headers
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


def test_extra_routes_are_served_beside_the_preview(client):
    assert client.get("/hello").text == "hello"
    assert client.get("/preview").status_code == 200


# -- errors --------------------------------------------------------------------------------
def test_content_errors_are_listed_on_the_index_with_status_200(tmp_path):
    root = write_tree(tmp_path, {
        "blocks/news/jackets.mjml": """\
            ---
            title: Jackets
            slot: nowhere
            product_groups: [toys]
            ---
            <mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section>
            """,
    })
    expected = check_content(root).errors
    assert len(expected) >= 2
    client = TestClient(create_app(Settings(content_dir=root)), raise_server_exceptions=False, client=LOCAL)
    for path in ("/preview", VARIANT, VARIANT + "/email.html"):
        response = client.get(path)
        assert response.status_code == 200
        page = html.unescape(response.text)
        assert 'class="banner bad"' in response.text
        for problem in expected:  # every one, as path:line: message
            assert f"{problem.path}:{problem.line}: {problem.message}" in page
        assert "Traceback" not in page


def test_a_missing_content_folder_is_a_problem_not_a_crash(tmp_path):
    client = TestClient(create_app(Settings(content_dir=tmp_path / "nope")), raise_server_exceptions=False,
                        client=LOCAL)
    response = client.get("/preview")
    assert response.status_code == 200 and "content folder not found" in response.text


def test_content_errors_elsewhere_are_a_plain_503(client):
    response = client.get("/needs-content")
    assert response.status_code == 503
    assert "content/x.yaml" not in response.text and "staff only" not in response.text


def test_an_unexpected_error_is_a_friendly_500_without_details(client):
    response = client.get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert "Something went wrong" in response.text
    # The public message in both page languages, from the gettext catalogue.
    assert "Etwas ist schiefgegangen" in response.text and "please try again later" in response.text


def test_unknown_public_path_is_a_plain_404(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "This page does not exist" in response.text and "staff only" not in response.text


# -- password ------------------------------------------------------------------------------
@pytest.fixture
def guarded(content):
    return TestClient(create_app(Settings(content_dir=content, preview_password="s3cret pässword")))


@pytest.mark.parametrize("path", ["/preview", VARIANT, VARIANT + "/email.html", "/preview/weekly/bad/vip/de"])
@pytest.mark.parametrize("headers", [
    {},
    basic("staff", "wrong"),
    basic("staff", "s3cret pässword "),
    {"Authorization": "Bearer s3cret"},
    {"Authorization": "Basic !!!not-base64"},
    {"Authorization": "Basic " + base64.b64encode(b"no colon").decode()},
])
def test_without_the_password_staff_pages_ask_for_it(guarded, path, headers):
    response = guarded.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Basic realm="Newsletter preview"')
    assert "Hallo" not in response.text and "weekly" not in response.text.lower().split("<main>")[1]


@pytest.mark.parametrize("user", ["staff", "", "Zoë"])
def test_with_the_password_any_user_name_gets_in(guarded, user):
    assert guarded.get("/preview", headers=basic(user, "s3cret pässword")).status_code == 200
    assert guarded.get(VARIANT, headers=basic(user, "s3cret pässword")).status_code == 200


def test_no_password_set_opens_the_staff_pages_to_this_machine_only(client):
    assert client.get("/preview").status_code == 200


@pytest.mark.parametrize("peer, headers", [
    (("203.0.113.7", 50000), {}),                               # a client elsewhere
    (("10.0.0.5", 50000), {}),                                  # or on the office network
    (("127.0.0.1", 50000), {"X-Forwarded-For": "203.0.113.7"}),  # a local proxy forwarding one
    (("::1", 50000), {"Forwarded": "for=203.0.113.7"}),
    (("127.0.0.1", 50000), {"X-Real-IP": "203.0.113.7"}),
])
@pytest.mark.parametrize("path", ["/preview", VARIANT, VARIANT + "/email.html"])
def test_without_a_password_staff_pages_are_never_public(content, peer, headers, path):
    client = TestClient(create_app(Settings(content_dir=content)), client=peer)
    response = client.get(path, headers=headers)
    assert response.status_code == 403
    assert "NEWSLETTER_PREVIEW_PASSWORD" in response.text
    assert "Hallo" not in response.text and "Sledge" not in response.text


@pytest.mark.parametrize("host, local", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.2", False), ("example.com", False), ("", False), (None, False),
])
def test_is_loopback(host, local):
    assert is_loopback(host) is local
