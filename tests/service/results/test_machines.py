"""The machine-click rule: early (seconds after delivery) or a sweep (many links at once)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from service.results.machines import EARLY_S, SWEEP_LINKS, SWEEP_S, Seen, verdicts
from service.results.tables import EARLY, HUMAN, SWEEP

SENT = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
LATER = SENT + timedelta(hours=1)


def clicks(*specs, client="reader", sent_at=SENT) -> list[Seen]:
    """(seconds after LATER, link number) pairs as Seen clicks of one client, ids from 1."""
    return [Seen(n, (client, "hash"), ("offers/a", link), LATER + timedelta(seconds=at), sent_at)
            for n, (at, link) in enumerate(specs, start=1)]


def test_a_reader_clicking_two_links_is_a_person():
    assert set(verdicts(clicks((0, 0), (3, 1), (4, 1))).values()) == {HUMAN}


def test_three_links_within_the_window_are_a_sweep_every_one_of_them():
    found = verdicts(clicks((0, 0), (1, 1), (2, 1), (SWEEP_S - 1, 2)))
    assert set(found.values()) == {SWEEP}


def test_the_same_links_spread_over_minutes_are_a_person():
    found = verdicts(clicks((0, 0), (SWEEP_S + 1, 1), (2 * SWEEP_S + 2, 2)))
    assert set(found.values()) == {HUMAN}
    assert SWEEP_LINKS == 3


def test_a_click_seconds_after_delivery_is_early_and_later_ones_from_that_client_are_people():
    at_delivery = LATER - timedelta(seconds=EARLY_S - 1)
    found = verdicts(clicks((0, 0), (600, 1), sent_at=at_delivery))
    assert found == {1: EARLY, 2: HUMAN}


def test_without_a_delivery_only_sweeps_count():
    assert verdicts(clicks((0, 0), sent_at=None)) == {1: HUMAN}


def test_two_clients_are_judged_apart():
    mixed = clicks((0, 0), (1, 1), client="a") + [
        Seen(10 + s.id, ("b", "hash"), s.link, s.at, s.sent_at) for s in clicks((2, 2), (3, 3))]
    assert set(verdicts(mixed).values()) == {HUMAN}  # two links each: no sweep across clients
