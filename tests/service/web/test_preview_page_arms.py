"""The staff preview of a variant with an experiment: the original first, a link to each arm with
its share, and the arm's email (and email alone) when the URL names it."""

from __future__ import annotations

import html
import re

import pytest

from repo_paths import CONTENT
from test_preview import client_for, pre, srcdoc

PAGE = "/preview/weekly/2026-11-23/everyone/de"


@pytest.fixture(scope="module")
def demo():
    return client_for(CONTENT)


def test_the_variant_page_links_each_arm_and_shows_the_one_named(demo):
    page = demo.get(PAGE).text
    # The mail's HTML is ASCII (it goes 7bit): its text with the references read.
    assert "Heizkosten sparen – ohne zu frieren" in html.unescape(srcdoc(page))
    nav = re.search(r'<nav class="pills" aria-label="Arms of the experiment advice/heating-costs">(.*?)</nav>',
                    page, re.S).group(1)
    assert "<strong>a (50%)</strong>" in nav
    href = html.unescape(re.search(r'<a href="([^"]*)">b \(50%\)</a>', nav).group(1))
    assert href == PAGE + "?arm=advice%2Fheating-costs%3Db"
    arm_b = demo.get(href).text
    assert "Bis zu 300 € im Jahr" in html.unescape(srcdoc(arm_b)) and "ohne zu frieren" not in srcdoc(arm_b)
    assert "variant everyone/de [advice/heating-costs=b]" in pre(arm_b, "trace")
    assert "ARM b of advice/heating-costs" in arm_b
    alone = demo.get(PAGE + "/email.html", params={"arm": "advice/heating-costs=b"}).text
    assert alone == srcdoc(arm_b)
    assert 'name="arm" value="advice/heating-costs=b"' in arm_b  # the options form keeps the arm


@pytest.mark.parametrize("arm, message", [("nothing=b", "There is no experiment 'nothing'"),
                                          ("advice/heating-costs=z", "has no arm 'z'")])
def test_an_unknown_experiment_or_arm_is_not_found(demo, arm, message):
    response = demo.get(PAGE, params={"arm": arm})
    assert response.status_code == 404
    assert message in html.unescape(response.text)


def test_a_first_monday_links_the_monthly_readers_best_of_edition_and_shows_its_ranking(demo):
    page = demo.get("/preview/weekly/2026-12-07/everyone/de").text
    nav = re.search(r'<nav class="pills" aria-label="Pace">(.*?)</nav>', page, re.S).group(1)
    assert "<strong>the week&#39;s edition</strong>" in nav or "<strong>the week's edition</strong>" in nav
    href = html.unescape(re.search(r'<a href="([^"]*)">best of 4w \(monthly readers\)</a>', nav).group(1))
    assert href == "/preview/weekly/2026-12-07/everyone/de?pace=monthly"
    digest = demo.get(href)
    assert digest.status_code == 200
    trace = pre(digest.text, "trace")
    assert "variant everyone/de [advice/heating-costs=a] (best of 4w)" in trace
    assert "top-up product-news/fairy-lights.de" in html.unescape(trace)
    assert "TOP-UP" in digest.text and 'name="pace" value="monthly"' in digest.text
    assert demo.get(PAGE, params={"pace": "monthly"}).status_code == 404  # 23 November: no monthly digest
