"""The `newsletter` command: messages and exit codes, never a traceback."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from repo_paths import CONTENT, ROOT
from content_tree import write_tree
from service.cli.console import renderer_for
from service.cli.main import app

runner = CliRunner()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A copy of the demo content, with the working directory at its repository root."""
    shutil.copytree(CONTENT, tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_CONTENT_DIR", raising=False)
    return tmp_path


def test_check_passes_on_the_demo_content(repo):
    result = runner.invoke(app, ["check", "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert "content OK" in result.output


def test_check_reports_every_error_and_exits_1(repo):
    block = repo / "content/blocks/offers/advent-deals.en.mjml"
    block.write_text(block.read_text().replace("product_groups: [", "product_groups: [toys, ", 1))
    (repo / "content/blocks/offers/stray.mjml").write_bytes(b"\x00\xff")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert "content/blocks/offers/advent-deals.en.mjml:5: unknown product group 'toys'" in result.output
    assert "content/blocks/offers/stray.mjml:1: file is not UTF-8 text" in result.output
    assert "Traceback" not in result.output


def test_check_of_a_missing_folder(repo):
    result = runner.invoke(app, ["check", "--content", "nowhere"])
    assert result.exit_code == 1
    assert "nowhere:1: content folder not found" in result.output


def test_warnings_do_not_fail(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Expires on Friday 2026-11-27: the next weekly edition (Monday 30th) is too late.
    text = ("---\ntitle: T\nslot: products\npublish: 2026-11-24\nexpire: 2026-11-27\n---\n"
            "<mj-section><mj-column><mj-text>x</mj-text></mj-column></mj-section>\n")
    write_tree(tmp_path, {"blocks/news/short.mjml": text})
    result = runner.invoke(app, ["check", "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert ("content/blocks/news/short.mjml:5: warning: expires 2026-11-27 before the next edition "
            "of weekly: it will never be sent") in result.output


def test_owners_prints_codeowners(repo):
    result = runner.invoke(app, ["owners"])
    assert result.exit_code == 0
    assert "/content/blocks/offers/ @nordhaus/offers\n" in result.output
    assert result.output.count("/content/blocks/") == 4


def test_plan_prints_the_matrix(repo):
    result = runner.invoke(app, ["plan", "weekly", "--date", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert "vip / de" in result.output and "hero-black-week" in result.output
    assert "12 variants by segment and locale" in result.output


def test_plan_fails_when_a_required_slot_stays_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # The only product block is for VIPs, and products is required in this tree.
    template = (tmp_path / "t.yaml")
    write_tree(tmp_path)
    path = tmp_path / "content/templates/weekly/template.yaml"
    path.write_text(path.read_text().replace("products: {teams: [news], max: 2}",
                                             "products: {teams: [news], max: 2, required: true}"))
    result = runner.invoke(app, ["plan", "weekly", "--date", "2026-11-23"])
    assert result.exit_code == 1
    assert "everyone/de: not sent: required slot products is empty" in result.output
    assert not template.exists()


def test_plan_rejects_a_day_that_is_not_an_edition(repo):
    result = runner.invoke(app, ["plan", "weekly", "--date", "2026-11-24"])
    assert result.exit_code == 1
    assert "2026-11-24 is not an edition date of weekly (next: 2026-11-30)" in result.output


def test_plan_of_an_unknown_template(repo):
    result = runner.invoke(app, ["plan", "daily"])
    assert result.exit_code == 2
    assert "unknown template 'daily' (templates: monthly, weekly, welcome, welcome-tips)" in result.output


def test_bad_date_is_a_usage_error(repo):
    result = runner.invoke(app, ["plan", "weekly", "--date", "23.11.2026"])
    assert result.exit_code == 2
    assert "is not a date like 2026-11-23" in result.output


def test_preview_writes_html_and_prints_trace(repo):
    result = runner.invoke(app, ["preview", "weekly", "--date", "2026-11-23", "--segment", "vip",
                                 "--locale", "en", "--exclude", "outdoor", "--name", "<img src=x onerror=alert(1)>",
                                 "--out", "out.html"])
    assert result.exit_code == 0, result.output
    assert "excluded product group outdoor" in result.output
    html = (repo / "out.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html


def test_bad_settings_are_reported(repo, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_BASE_URL", "news.example.com")
    result = runner.invoke(app, ["plan", "weekly"])
    assert result.exit_code == 2
    assert "NEWSLETTER_BASE_URL must start with http:// or https://" in result.output


def test_preview_of_one_customer_is_byte_identical_to_the_sent_html(repo, monkeypatch):
    import email
    from datetime import date
    from email import policy

    from sqlmodel import Session

    from preferences.customers import CustomerData
    from preferences.database import make_engine, upgrade
    from preferences.store import create_customer, iter_send_candidates
    from service.assembly.edition import Edition
    from service.content.check import load_content
    from service.assembly.recipient import Recipient
    from service.assembly.render import date_header
    from service.settings import Settings

    url = f"sqlite:///{repo}/var/n.db"
    monkeypatch.setenv("DATABASE_URL", url)
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        create_customer(session, CustomerData(
            external_id="CRM-1", email="zoe@example.com", first_name="Zoë <b>&",
            locale="en", attributes={"lifecycle": "customer", "last_order": "2026-11-10"}),
            "import", default_locale="de")
        session.commit()
    result = runner.invoke(app, ["preview", "weekly", "--date", "2026-11-23", "--customer", "CRM-1",
                                 "--out", "one.html"])
    assert result.exit_code == 0, result.output
    assert "variant active-customers/en" in result.output
    previewed = (repo / "one.html").read_bytes()

    # The send's path: the bulk row, the same renderer, a whole MIME message.
    with engine.connect() as conn:
        row = next(iter_send_candidates(conn, 0, 10))
    content = load_content(repo / "content")
    edition = Edition(content, content.templates["weekly"], date(2026, 11, 23),
                      experiment_key=Settings.from_env().experiment_key)
    recipient = Recipient.from_row(row)
    assembly = edition.assemble(edition.segment_for(recipient.attributes, recipient.locale),
                                recipient.locale, recipient.excluded_groups, customer=recipient.public_id)
    renderer = renderer_for(Settings.from_env())
    message = renderer.message(edition, renderer.variant(edition, assembly), recipient, date_header())
    html_part = email.message_from_bytes(message, policy=policy.default).get_body(("html",))
    assert html_part.get_payload(decode=True) == previewed
    assert b"Zo&#235; &lt;b&gt;&amp;" in previewed  # ASCII: the mail's HTML goes 7bit
    engine.dispose()


def test_preview_of_an_unknown_customer(repo, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{repo}/var/n.db")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["preview", "weekly", "--date", "2026-11-23", "--customer", "nobody"])
    assert result.exit_code == 1
    assert "no customer with external id 'nobody'" in result.output


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.2"])
def test_serve_refuses_a_public_address_without_a_staff_credential(repo, monkeypatch, host):
    monkeypatch.setenv("NEWSLETTER_LINK_KEYS", "a-real-key-of-enough-length")
    monkeypatch.delenv("NEWSLETTER_PREVIEW_PASSWORD", raising=False)
    result = runner.invoke(app, ["serve", "--host", host, "--port", "1"])
    assert result.exit_code == 2
    assert "without a staff credential; set NEWSLETTER_PREVIEW_PASSWORD" in " ".join(result.output.split())


def test_serve_refuses_a_public_address_with_the_development_link_key(repo, monkeypatch):
    monkeypatch.delenv("NEWSLETTER_LINK_KEYS", raising=False)
    monkeypatch.setenv("NEWSLETTER_PREVIEW_PASSWORD", "a staff password")
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 2 and "NEWSLETTER_LINK_KEYS" in result.output


def test_preview_refuses_a_day_that_is_not_an_edition_as_send_does(repo):
    # A Tuesday for the Monday newsletter: the same message as `send` and `plan` (issue 10.18).
    result = runner.invoke(app, ["preview", "weekly", "--date", "2026-11-24", "--segment", "vip", "--out", "t.html"])
    assert result.exit_code == 2, result.output
    assert "2026-11-24 is not an edition date of weekly (next: 2026-11-30); --force previews it anyway" \
        in result.output
    assert not (repo / "t.html").exists()
    forced = runner.invoke(app, ["preview", "weekly", "--date", "2026-11-24", "--segment", "vip", "--out", "t.html",
                                 "--force"])
    assert forced.exit_code == 0, forced.output
    assert (repo / "t.html").exists()


def test_preview_without_out_writes_under_var_not_the_working_folder(repo):
    result = runner.invoke(app, ["preview", "weekly", "--date", "2026-11-23", "--segment", "vip"])
    assert result.exit_code == 0, result.output
    written = list((repo / "var/previews").glob("*.html"))
    assert [p.name for p in written] == ["preview-weekly-2026-11-23-vip-de.html"]
    assert "wrote var/previews/preview-weekly-2026-11-23-vip-de.html" in result.output
    assert not list(repo.glob("*.html"))
    # ... and the repository ignores that folder (issue 10.19).
    ignored = subprocess.run(["git", "check-ignore", "-q", "var/previews/preview-weekly-2026-11-23-vip-de.html"],
                             cwd=ROOT)
    assert ignored.returncode == 0


def test_version_comes_from_the_installed_package():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"newsletter {importlib.metadata.version('newsletter')}"


def test_check_prints_paths_as_they_can_be_opened(tmp_path, monkeypatch):
    content = write_tree(tmp_path / "repo", {"blocks/news/a.mjml": "---\ntitle: T\nslot: nowhere\n---\n<mj-section/>\n"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = runner.invoke(app, ["check", "--content", str(content)])
    assert result.exit_code == 1
    assert f"{content.as_posix()}/blocks/news/a.mjml:3: unknown slot 'nowhere'" in result.output
    assert content.as_posix().startswith("/")
    monkeypatch.chdir(tmp_path)  # under the working directory: relative to it, absolute or not
    result = runner.invoke(app, ["check", "--content", str(content)])
    assert "\nrepo/content/blocks/news/a.mjml:3: unknown slot 'nowhere'" in "\n" + result.output


def test_check_reports_a_huge_expression_at_its_line_within_a_second(tmp_path, monkeypatch):
    import time
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"blocks/news/a.mjml": "---\ntitle: T\nslot: products\n---\n<mj-section><mj-column>\n"
                                                "<mj-text>{{ 9**(9**9) }}</mj-text>\n</mj-column></mj-section>\n"})
    started = time.monotonic()
    result = runner.invoke(app, ["check"])
    assert time.monotonic() - started < 1
    assert result.exit_code == 1
    assert "content/blocks/news/a.mjml:6: cannot render: 9 ** 387420489 makes a number of more than 1,000 digits" \
        in result.output


def test_check_of_an_empty_teams_yaml_names_it_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"teams.yaml": ""})
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == ("content/teams.yaml:1: teams.yaml is empty: it declares the teams "
                                             "(teams: followed by a list)")
    assert "1 error(s)" in result.output
