"""The results pages in real headless Chromium, over a real send and real clicks.

The demo edition is sent to 80 customers into a Maildir; the app is served by uvicorn; readers
follow tracked links of their messages over HTTP (through the redirect), a mail gateway sweeps
one message, one reader unsubscribes with one click, another narrows their choices from the
edition's preference link; the send's refresh and one after the clicks write the rollups. Then
Chromium opens /results and a team's page, on a desktop and a 390 px phone screen: the charts
are drawn, nothing is blocked by the page's policy, the numbers are the database's. Screenshots
under the test's tmp dir (run with -s to see the path).
"""

from __future__ import annotations

import re
import urllib.request
from urllib.parse import urlsplit

import pytest

from service.results.figures import Period, results_by
from service.results.refresh import refresh
from service.web.app import create_app
from chromium import browser, serving  # noqa: F401  (browser is a fixture)
from send_fixtures import EDITION, add_customers, age_deliveries, send_demo_edition, settings_for

TRACKED = re.compile(r"http://127\.0\.0\.1:8000(/r/~?[A-Za-z0-9_.-]+/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22})")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(base: str, path: str, agent: str) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        return opener.open(urllib.request.Request(base + path, headers={"User-Agent": agent}), timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def history(tmp_path):
    from preferences.database import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    engine = make_engine(url)
    add_customers(engine, 80)
    messages, _ = send_demo_edition(engine, url, tmp_path / "outbox")
    age_deliveries(engine)
    yield url, engine, messages
    engine.dispose()


def test_the_results_pages_in_chromium(browser, history, tmp_path):
    url, engine, messages = history
    shots = tmp_path / "screenshots"
    shots.mkdir()
    app = create_app(settings_for(url))
    with serving(app, lifespan="on") as base:
        for n, message in enumerate(messages[:30]):
            links = list(dict.fromkeys(TRACKED.findall(message.get_body(("html",)).get_content())))
            assert _get(base, links[n % len(links)], f"reader {n}") == 302
        for link in dict.fromkeys(TRACKED.findall(messages[40].get_body(("html",)).get_content())):
            _get(base, link, "mail gateway")
        unsubscribe = urlsplit(str(messages[50]["List-Unsubscribe"]).split("<")[1].split(">")[0])
        request = urllib.request.Request(f"{base}{unsubscribe.path}?{unsubscribe.query}", method="POST",
                                         data=b"List-Unsubscribe=One-Click")
        assert urllib.request.urlopen(request, timeout=10).status == 200
        app.state.clicks.flush()
        refresh(engine)
        with engine.connect() as conn:
            [edition] = results_by(conn, Period("weekly", EDITION, EDITION), "edition")
            best = results_by(conn, Period("weekly", EDITION, EDITION), "block")[0]
        assert (edition.recipients, edition.clickers, edition.unsubscribes) == (80, 30, 1)
        assert edition.machine_clicks >= 3

        problems: list[str] = []
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        response = page.goto(f"{base}/results")
        assert response.status == 200
        # One edition: the churn and block charts (the trend needs two), each drawn for desktop and phone.
        assert page.locator("svg[role=img]").count() == 4
        shown = [chart for chart in page.locator("figure.chart svg").all() if chart.is_visible()]
        assert len(shown) == 2
        for chart in shown:
            box = chart.bounding_box()
            assert box and box["width"] > 500 and box["height"] > 100
        row = page.locator("table.figures tbody tr").first
        assert "2026-11-23" in row.inner_text() and "80" in row.inner_text() and "37.5%" in row.inner_text()
        assert best.label in page.locator("#blocks ~ div table, section:has(#blocks) table").first.inner_text()
        page.screenshot(path=str(shots / "results-desktop.png"), full_page=True)
        team_link = page.locator("section:has(#teams) a").first
        team = team_link.inner_text()
        team_link.click()
        page.wait_for_load_state()
        assert page.url.split("?")[0].endswith(f"/results/team/{team}")
        assert page.locator("h1").inner_text().startswith(team)
        page.screenshot(path=str(shots / "team-desktop.png"), full_page=True)

        phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        phone.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        phone.goto(f"{base}/results")
        phone.screenshot(path=str(shots / "results-phone.png"), full_page=True)
        width = phone.evaluate("document.documentElement.scrollWidth")
        shown = [chart for chart in phone.locator("figure.chart svg").all() if chart.is_visible()]
        assert len(shown) == 2 and all(300 < chart.bounding_box()["width"] <= 390 for chart in shown)
        assert width <= 390  # the page fits the phone; wide tables scroll in their own box
        assert problems == []  # no script error, nothing refused by the content security policy
    print(f"\nscreenshots: {shots}")
