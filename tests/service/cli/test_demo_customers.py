"""The demo CRM export: valid for the import, every segment populated, realistic names and locales."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date

import pytest

from content_tree import write_tree
from preferences.attributes import validate_attributes
from preferences.csv_import import read_csv
from repo_paths import CONTENT
from service.cli.demo_customers import DOMAINS, write_demo_csv
from service.content.check import load_content
from service.content.segments import segment_of

TODAY = date(2026, 11, 23)
COUNT = 4000


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


@pytest.fixture(scope="module")
def demo(content, tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "customers.csv"
    assert write_demo_csv(path, COUNT, content, today=TODAY) == COUNT
    with path.open(encoding="utf-8", newline="") as handle:
        return path, list(csv.DictReader(handle))


def test_every_row_passes_the_import_check(demo, content):
    path, _ = demo
    checked = read_csv(path, schema=content.audience.attributes, locales=content.audience.locales)
    assert checked.errors == [] and len(checked.rows) == COUNT
    assert checked.attribute_columns == set(content.audience.attributes)


def test_every_segment_gets_its_share(demo, content):
    _, rows = demo
    attributes = content.audience.attributes
    segments = Counter()
    for row in rows:
        values = validate_attributes({name: row[name] for name in attributes}, attributes)
        segments[segment_of(content.audience.segments, values, row["locale"], TODAY).id] += 1
    shares = {segment: n / COUNT for segment, n in segments.items()}
    expected = {"vip": 0.08, "new-subscribers": 0.15, "first-buyers": 0.10, "lapsed": 0.15,
                "active-customers": 0.35, "everyone": 0.17}
    assert set(shares) == {segment.id for segment in content.audience.segments} == set(expected)
    for segment, share in expected.items():
        assert abs(shares[segment] - share) < 0.03, (segment, shares)


def test_customers_look_real(demo):
    _, rows = demo
    ids = [row["external_id"] for row in rows]
    emails = [row["email"].lower() for row in rows]
    assert ids[:2] == ["CRM-000001", "CRM-000002"] and len(set(ids)) == COUNT
    assert len(set(emails)) == COUNT
    assert {email.rsplit("@", 1)[1] for email in emails} == set(DOMAINS)
    assert 0.21 < sum(row["locale"] == "en" for row in rows) / COUNT < 0.29
    names = {row["first_name"] for row in rows}
    assert any(ch in name for name in names for ch in "äöüÄÖÜ")
    assert any(not name.isascii() and not any(ch in name for ch in "äöüéëïóÄÖÜ") for name in names)
    assert Counter(row["status"] for row in rows)["unsubscribed"] > 0
    assert {row["region"] for row in rows} == {"north", "south", "east", "west"}


def test_the_same_seed_and_day_give_the_same_file(content, tmp_path):
    one, two, other = tmp_path / "1.csv", tmp_path / "2.csv", tmp_path / "3.csv"
    write_demo_csv(one, 200, content, today=TODAY)
    write_demo_csv(two, 200, content, today=TODAY)
    write_demo_csv(other, 200, content, seed=8, today=TODAY)
    assert one.read_bytes() == two.read_bytes() != other.read_bytes()


def test_only_declared_attributes_become_columns(tmp_path):
    small = load_content(write_tree(tmp_path))  # declares lifecycle, purchasing_power, last_order, loyalty
    path = tmp_path / "demo.csv"
    write_demo_csv(path, 50, small, today=TODAY)
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == ["external_id", "email", "first_name", "locale", "status", "lifecycle", "last_order",
                      "purchasing_power"]
    checked = read_csv(path, schema=small.audience.attributes, locales=small.audience.locales)
    assert checked.errors == []
