"""The "view in your browser" link: the customer's own email, and nothing for anyone else."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.testclient import TestClient

from content_tree import write_tree
from repo_paths import CONTENT
from preferences.customers import CustomerData
from preferences.database import make_engine, upgrade
from preferences.links import LinkSigner, Purpose
from preferences.store import create_customer
from service.assembly.render import Renderer
from service.content.live import LiveContent
from service.web import web_version
from service.settings import Settings

KEY = b"k" * 32


def serve_views(tmp_path, content, email: str, first_name: str):
    """The web version's routes over a fresh database with one customer: (client, signer,
    public id, engine)."""
    url = f"sqlite:///{tmp_path}/n.db"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        public_id = create_customer(session, CustomerData(
            external_id="C1", email=email, first_name=first_name, locale="en",
            attributes={"purchasing_power": 5}), "import", default_locale="de").public_id
        session.commit()
    signer = LinkSigner([KEY])
    renderer = Renderer(signer, "https://news.example", "u@news.example")
    app = Starlette(routes=web_version.routes(LiveContent(content, interval=0), engine, signer, renderer,
                                              Settings().experiment_key))
    return TestClient(app), signer, public_id, engine


@pytest.fixture
def site(tmp_path):
    client, signer, public_id, engine = serve_views(tmp_path, write_tree(tmp_path), "ida@example.com", "Ida <script>")
    yield client, signer, public_id
    engine.dispose()


def test_shows_the_customers_email(site):
    client, signer, public_id = site
    token = signer.sign(public_id, Purpose.VIEW, "weekly/2026-11-23")
    response = client.get(f"/view/weekly/2026-11-23/{token}")
    assert response.status_code == 200
    assert "Hallo Ida &lt;script&gt;" in response.text and "<script>" not in response.text
    assert "sandbox" in response.headers["content-security-policy"]
    unsubscribe = re.search(r'href="(https://news.example/unsubscribe/[^"]+)"', response.text).group(1)
    link = urlsplit(html.unescape(unsubscribe))
    assert signer.verify(link.path.rsplit("/", 1)[1], Purpose.UNSUBSCRIBE) == public_id
    assert link.query == "edition=weekly/2026-11-23"  # as the mail's links: where a change came from


@pytest.mark.parametrize("path", [
    "/view/weekly/2026-11-30/{token}",  # the token is bound to another edition
    "/view/monthly/2026-11-23/{token}",
    "/view/weekly/2026-11-23/{token}x",
    "/view/weekly/2026-11-23/{other}",
    "/view/weekly/2026-11-23/{wrong_purpose}",
    "/view/weekly/not-a-date/{token}",
])
def test_any_bad_link_is_the_same_404(site, path):
    client, signer, public_id = site
    link = path.format(token=signer.sign(public_id, Purpose.VIEW, "weekly/2026-11-23"),
                       other=signer.sign("B" * 22, Purpose.VIEW, "weekly/2026-11-23"),
                       wrong_purpose=signer.sign(public_id, Purpose.PREFERENCES))
    response = client.get(link)
    assert response.status_code == 404
    assert "This view does not exist" in response.text and "ida@" not in response.text


def test_a_forwarded_view_link_does_not_disclose_the_address(tmp_path):
    """The demo layout prints the address ("sent to ..."); the web version masks it."""
    client, signer, public_id, engine = serve_views(tmp_path, CONTENT, "anna.berg@example.com", "Anna")
    response = client.get(f"/view/weekly/2026-11-23/{signer.sign(public_id, Purpose.VIEW, 'weekly/2026-11-23')}")
    engine.dispose()
    assert response.status_code == 200
    assert "anna.berg" not in response.text and "example.com" not in response.text
    # The web version is the mail's HTML, ASCII with its other characters as references.
    assert "This email was sent to a&#8230;@e&#8230;.com because" in response.text


@pytest.mark.parametrize("email, masked", [
    ("anna.berg@example.com", "a…@e….com"),
    ("x@mail.example.co.uk", "x…@m….uk"),
    ("ab@localhost", "a…@l…"),
])
def test_masked_address(email, masked):
    assert web_version.masked_address(email) == masked
