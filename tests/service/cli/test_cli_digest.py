"""``newsletter plan`` and ``newsletter preview`` show the best-of editions: on the first Monday
of a month the monthly readers' digest with the rate and recipients that chose each block (from
the results in the database), top-ups named; on another date when the next digest is; a
``--customer`` who reads monthly gets their digest."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from sqlalchemy import insert
from sqlmodel import Session
from typer.testing import CliRunner

from preferences.customers import CustomerData
from preferences.database import make_engine, upgrade
from preferences.store import create_customer
from repo_paths import CONTENT
from service.cli.main import app
from service.results.tables import result_audience, result_click
from service.sending.contents import variant_block

runner = CliRunner()
WEEK = date(2026, 11, 23)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    shutil.copytree(CONTENT, tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_CONTENT_DIR", raising=False)
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    engine = make_engine(url)
    # The week of 23 November: the everyone/de variant held dog beds and wood stoves, 300 measured.
    with engine.begin() as conn:
        conn.execute(insert(variant_block), [dict(template="weekly", edition_date=WEEK, variant="everyone/de", owner=o,
                                                  team="product-news", slot="products", title=o, position=n)
                                             for n, o in enumerate(("product-news/dog-beds.de",
                                                                    "product-news/wood-stoves.de"), 1)])
        conn.execute(insert(result_audience), [dict(template="weekly", edition_date=WEEK, measure=m, key="",
                                                    segment="everyone", variant="everyone/de", customers=300)
                                               for m in ("delivered", "measured")])
        conn.execute(insert(result_click), [dict(template="weekly", edition_date=WEEK, dimension="block", key=o,
                                                 segment="everyone", variant="everyone/de", detail="", clicks=n,
                                                 clickers=n, machine_clicks=0)
                                            for o, n in (("product-news/dog-beds.de", 60),
                                                         ("product-news/wood-stoves.de", 30))])
    with Session(engine) as session:
        create_customer(session, CustomerData(external_id="CRM-1", email="monthly@example.com", first_name="Mona",
                                              locale="de", attributes={"lifecycle": "subscriber"}),
                        "import", default_locale="de")
        session.commit()
    engine.dispose()
    return tmp_path


def test_plan_shows_the_monthly_digest_with_the_ranking_that_chose_each_block(repo):
    result = runner.invoke(app, ["plan", "weekly", "--date", "2026-12-07"])
    assert result.exit_code == 0, result.output
    assert "best of 4w for monthly readers, edition of 2026-12-07" in result.output
    assert "#1 20.0% (60/300)" in result.output and "#2 10.0% (30/300)" in result.output
    assert "top-up" in result.output
    assert "best of 4w: editions 2026-11-09 to 2026-12-06 (2026-11-23); measured now" in result.output
    assert "best of 2w for biweekly readers, edition of 2026-12-07" in result.output


def test_plan_of_a_mid_month_edition_names_the_next_monthly_digest(repo):
    result = runner.invoke(app, ["plan", "weekly", "--date", "2026-12-14"])
    assert result.exit_code == 0, result.output
    assert "best of 4w for monthly readers: not on 2026-12-14 (next: 2027-01-04)" in result.output
    assert "best of 2w for biweekly readers, edition of 2026-12-14" in result.output


def test_preview_of_the_monthly_readers_edition_prints_the_ranking(repo):
    args = ["preview", "weekly", "--date", "2026-12-07", "--segment", "everyone", "--locale", "de"]
    result = runner.invoke(app, args + ["--pace", "monthly", "--out", "digest.html"])
    assert result.exit_code == 0, result.output
    assert "variant everyone/de [advice/heating-costs=a] (best of 4w) of weekly 2026-12-07" in result.output
    assert "  products: product-news/dog-beds.de, product-news/wood-stoves.de, product-news/fairy-lights.de" \
        in result.output
    assert "    #1 product-news/dog-beds.de: 20.0% (60 of 300 measured recipients), chosen" in result.output
    assert "    top-up product-news/fairy-lights.de: no measured recipients in the window, by the normal rules" \
        in result.output
    week = runner.invoke(app, args + ["--out", "week.html"])
    assert "dog-beds" not in week.output.split("  products: ")[1].splitlines()[0]
    assert runner.invoke(app, args + ["--pace", "weekly"]).exit_code == 2


def test_preview_of_a_monthly_customer_is_their_digest(repo):
    engine = make_engine(f"sqlite:///{repo / 'newsletter.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE preference SET frequency = 'monthly'")
    engine.dispose()
    result = runner.invoke(app, ["preview", "weekly", "--date", "2026-12-07", "--customer", "CRM-1",
                                 "--out", "c.html"])
    assert result.exit_code == 0, result.output
    assert "(best of 4w) of weekly 2026-12-07" in result.output
