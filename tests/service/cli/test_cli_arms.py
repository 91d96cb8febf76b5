"""``newsletter preview`` and experiments: ``--arm`` shows an arm, ``--customer`` says which arm
that customer gets and why (their bucket and the split), computed here independently."""

from __future__ import annotations

import hashlib
import hmac
import re
import shutil
from html import unescape

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from preferences.customers import CustomerData
from preferences.database import make_engine, upgrade
from preferences.store import create_customer
from repo_paths import CONTENT
from service.cli.main import app
from service.settings import Settings

runner = CliRunner()
EXPERIMENT = "advice/heating-costs"
ARGS = ["preview", "weekly", "--date", "2026-11-23"]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    shutil.copytree(CONTENT, tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_CONTENT_DIR", raising=False)
    monkeypatch.setenv("NEWSLETTER_EXPERIMENT_KEY", "the-experiment-key-of-this-test")
    return tmp_path


def test_a_segments_preview_shows_the_original_unless_an_arm_is_named(repo):
    original = runner.invoke(app, ARGS + ["--segment", "everyone", "--out", "a.html"])
    assert original.exit_code == 0, original.output
    assert f"experiment {EXPERIMENT}: arms b 50% (buckets 0-4999) | a 50% (buckets 5000-9999)" in original.output
    assert "Heizkosten sparen – ohne zu frieren" in unescape((repo / "a.html").read_text())
    arm_b = runner.invoke(app, ARGS + ["--segment", "everyone", "--arm", f"{EXPERIMENT}=b", "--out", "b.html"])
    assert arm_b.exit_code == 0, arm_b.output
    assert f"variant everyone/de [{EXPERIMENT}=b]" in arm_b.output
    html = unescape((repo / "b.html").read_text())  # ASCII HTML (it goes 7bit): the references read
    assert "Bis zu 300 € im Jahr" in html and "ohne zu frieren" not in html


@pytest.mark.parametrize("arm, message", [
    ("nothing=b", "--arm: no experiment nothing (experiments: advice/heating-costs)"),
    (f"{EXPERIMENT}=z", f"--arm: experiment {EXPERIMENT} has no arm 'z' (arms: b, a)"),
    (f"{EXPERIMENT}", "--arm 'advice/heating-costs': write EXPERIMENT=ARM"),
])
def test_a_wrong_arm_is_a_usage_error(repo, arm, message):
    result = runner.invoke(app, ARGS + ["--segment", "everyone", "--arm", arm])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_a_customers_preview_says_which_arm_and_why(repo, monkeypatch):
    url = f"sqlite:///{repo}/n.db"
    monkeypatch.setenv("DATABASE_URL", url)
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        public_id = create_customer(session, CustomerData(
            external_id="CRM-7", email="kim@example.com", first_name="Kim", locale="de",
            attributes={"lifecycle": "customer", "last_order": "2026-11-10"}), "import", default_locale="de").public_id
        session.commit()
    engine.dispose()
    result = runner.invoke(app, ARGS + ["--customer", "CRM-7", "--out", "kim.html"])
    assert result.exit_code == 0, result.output
    key = Settings.from_env().experiment_key
    digest = hmac.new(key, f"{EXPERIMENT}\x1f{public_id}".encode(), hashlib.sha256).digest()
    bucket = int.from_bytes(digest[:8], "big") % 10_000
    arm = "b" if bucket < 5000 else "a"
    said = re.search(r"this customer gets arm (\w+): bucket (\d+) of 10000", result.output)
    assert said and said.groups() == (arm, str(bucket)), result.output
    assert f"falls in arm {arm}'s buckets" in " ".join(result.output.split())
    headline = "Bis zu 300 € im Jahr" if arm == "b" else "Heizkosten sparen – ohne zu frieren"
    assert headline in unescape((repo / "kim.html").read_text())


def test_the_send_report_names_each_arm_of_a_variant(capsys):
    # Rich would take "[advice/heating-costs=b]" for markup and print both arms as "vip/de".
    from collections import Counter
    from datetime import date

    from service.cli.sending.display import print_report
    from service.sending.report import Report

    report = Report("weekly", date(2026, 11, 23), complete=True)
    report.variants = {"vip/de [advice/heating-costs=a]": Counter(sent=3),
                       "vip/de [advice/heating-costs=b]": Counter(sent=2)}
    print_report(report)
    printed = capsys.readouterr().out
    assert "vip/de [advice/heating-costs=a]" in printed and "vip/de [advice/heating-costs=b]" in printed
