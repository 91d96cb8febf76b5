"""axe-core in Chromium (bundled by axe-playwright-python: nothing is downloaded at test time):
what a page or an email's HTML violates of WCAG 2.0/2.1 A and AA and axe's best practices.

Pages get no exception. An email gets exactly the ones in ``NOT_FOR_EMAIL``, each moderate and
each with the reason it does not apply to a message shown inside a mail program."""

from __future__ import annotations

from axe_playwright_python.base import AXE_SCRIPT
from axe_playwright_python.sync_playwright import Axe

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
OPTIONS = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
NOT_FOR_EMAIL = {
    "landmark-one-main": "a mail is shown inside the mail program's (or webmail's) page, whose main "
                         "landmark holds it; a main of its own would be a second one in that page",
    "region": "the mail is one region of the mail program's page (MJML marks it role=article, named by "
              "its subject); landmarks around its parts would be the program's to give, not the sender's",
}
_AXE = Axe()


def violations(page, allowed: dict[str, str] | None = None) -> list[str]:
    """The page's violations as readable lines (rule, impact, help, first targets)."""
    found = _AXE.run(page, options=OPTIONS).response["violations"]
    return _lines(v for v in found if v["id"] not in (allowed or {}))


class MailChecker:
    """Checks many emails' HTML on one page of its own (no site policy: a mail's inline styles
    apply as in a mail program): axe is loaded once and each mail replaces the document, which
    keeps the check at about axe's own time per mail."""

    def __init__(self, browser):
        self.page = browser.new_page(viewport={"width": 700, "height": 900})
        self.page.set_content("<!doctype html><title>mail</title>")
        self.page.evaluate(AXE_SCRIPT)

    def violations(self, html: str) -> list[str]:
        self.page.evaluate("html => { document.open(); document.write(html); document.close(); }", html)
        found = self.page.evaluate("options => axe.run(document, options).then(r => r.violations)", OPTIONS)
        return _lines(v for v in found if v["id"] not in NOT_FOR_EMAIL)

    def close(self) -> None:
        self.page.close()


def email_violations(browser, html: str) -> list[str]:
    """The violations of one email's HTML beyond those that do not apply to a mail."""
    checker = MailChecker(browser)
    try:
        return checker.violations(html)
    finally:
        checker.close()


def _lines(found) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
            for v in found]
