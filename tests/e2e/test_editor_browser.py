"""The block editor in real headless Chromium against the whole app, on a copy of the demo
content in a git work tree: an advice editor signs in, changes a block's text and expiry, sees
the check's error beside the expiry field, fixes it and saves; the file changed as expected and
the commit is the editor's; a product-news editor gets 403 on that block; a reviewer of advice
(four-eyes: someone else than the author) sets it ready; and the staff preview shows the change.
Screenshots of the team page and of the form with its error are kept in the test's folder."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date, timedelta

from preferences.database import make_engine, upgrade
from repo_paths import CONTENT
from service.settings import Settings
from service.staff import accounts
from service.staff.passwords import Passwords
from service.web.app import create_app
from chromium import browser, free_port, serving  # noqa: F401  (browser is a fixture)

SECRET = "a long staff secret"
BLOCK = "/edit/advice/winter-garden-care.en"
FILE = "blocks/advice/winter-garden-care.en.mjml"


def git(root, *args):
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=setup", "-c", "user.email=setup@example", *args],
                          check=True, capture_output=True, text=True).stdout


def sign_in(browser, base, name, path):  # noqa: F811
    page = browser.new_context(locale="en-GB").new_page()
    page.goto(f"{base}{path}")
    page.fill("#name", name)
    page.fill("#password", SECRET)
    page.click("button[type=submit]")
    return page


def test_edit_fix_save_commit_forbid_release_and_preview(browser, tmp_path):  # noqa: F811
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the demo content")
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        for name, team, role in (("lena", "advice", "editor"), ("pete", "product-news", "editor"),
                                 ("max", "advice", "reviewer")):
            accounts.add(conn, Passwords(), name, f"{name}@nordhaus.example", team, role, SECRET, by="test")
    engine.dispose()
    port = free_port()
    settings = replace(Settings.from_env({}), database_url=url, content_dir=root, base_url=f"http://127.0.0.1:{port}")
    expire = (date.today() + timedelta(days=60)).isoformat()
    with serving(create_app(settings), lifespan="on", port=port) as base:
        lena = sign_in(browser, base, "lena", "/edit")
        assert lena.url == f"{base}/edit/advice" and "Four eyes" in lena.locator("#four-eyes").inner_text()
        lena.screenshot(path=str(tmp_path / "team-page.png"), full_page=True)

        lena.click(f"a[href='{BLOCK}']")
        body = lena.input_value("#f-body")
        assert "Frost, wet" in body
        lena.fill("#f-body", body.replace("Frost, wet", "Ice, wet"))
        lena.fill("#f-priority", "1000")  # first in its slot, so the preview below shows it
        lena.fill("#f-expire", "2026-11-01")  # before its publish date: the check's error
        lena.click("button[value=save]")
        error = lena.locator("#err-expire")
        assert "expire 2026-11-01 is not after publish 2026-11-02" in error.inner_text()
        assert lena.get_attribute("#f-expire", "aria-describedby") == "err-expire hint-expire"
        assert lena.input_value("#f-body").count("Ice, wet") == 1  # the editor's text is kept
        lena.screenshot(path=str(tmp_path / "edit-error.png"), full_page=True)
        assert "Frost, wet" in (root / FILE).read_text()  # nothing written

        lena.fill("#f-expire", expire)
        lena.click("button[value=save]")
        assert "Saved." in lena.locator("[role=status]").inner_text()
        text = (root / FILE).read_text()
        assert "Ice, wet" in text and f"expire: {expire}" in text and "priority: 1000" in text
        assert "status: draft" in text  # an editor's save waits for a reviewer
        assert git(root, "log", "-1", "--format=%an <%ae>").strip() == "lena <lena@nordhaus.example>"

        pete = sign_in(browser, base, "pete", "/edit")
        assert pete.url == f"{base}/edit/product-news"
        assert pete.goto(f"{base}{BLOCK}").status == 403

        reviewer = sign_in(browser, base, "max", BLOCK)
        assert reviewer.url == f"{base}{BLOCK}"
        reviewer.select_option("#f-status", "ready")
        reviewer.click("button[value=save]")
        assert "Saved." in reviewer.locator("[role=status]").inner_text()
        assert "status: ready" in (root / FILE).read_text()
        assert git(root, "log", "-1", "--format=%an %s").startswith("max advice/winter-garden-care.en: approved")

        reviewer.goto(f"{base}/edit/advice")
        row = reviewer.locator("#block-winter-garden-care\\.en").inner_text()
        assert "approved by max" in row
        used = re.search(r"(weekly|monthly) (\d{4}-\d\d-\d\d): ([\w-]+) \(", row)
        assert used, row
        reviewer.goto(f"{base}/preview/{used[1]}/{used[2]}/{used[3]}/en")
        assert "Ice, wet" in reviewer.frame_locator("iframe").locator("body").inner_text()
