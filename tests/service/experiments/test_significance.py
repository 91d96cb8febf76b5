"""The decision's statistics: Fisher's exact test per arm against a, Holm's correction."""

from __future__ import annotations

import pytest
from scipy.stats import fisher_exact

from service.experiments.significance import Counts, compare, holm, p_value


def test_a_clearly_better_arm_wins_and_an_equal_one_keeps_a():
    assert compare({"a": Counts(500, 25), "b": Counts(500, 60)}).winner == "b"
    equal = compare({"a": Counts(500, 40), "b": Counts(500, 40)})
    assert equal.winner == "a" and equal.p_value > 0.5


def test_a_worse_arm_never_wins_and_a_small_lead_is_not_enough():
    assert compare({"a": Counts(500, 60), "b": Counts(500, 25)}).winner == "a"
    assert compare({"a": Counts(100, 10), "b": Counts(100, 14)}).winner == "a"  # p about 0.25


def test_the_p_value_is_scipys_one_sided_fisher():
    expected = fisher_exact([[30, 70], [15, 85]], alternative="greater").pvalue
    assert p_value(Counts(100, 30), Counts(100, 15)) == pytest.approx(expected)
    assert p_value(Counts(0, 0), Counts(100, 15)) == 1.0  # nobody measured: no evidence


def test_holm_multiplies_the_smallest_by_m_and_keeps_the_order():
    adjusted = holm({"b": 0.01, "c": 0.04, "d": 0.03})
    assert adjusted == pytest.approx({"b": 0.03, "d": 0.06, "c": 0.06})


def test_with_several_arms_the_correction_can_keep_a():
    # b alone against a would win at p < 0.05, but not once three arms share the error rate.
    alone = compare({"a": Counts(400, 20), "b": Counts(400, 34)})
    three = compare({"a": Counts(400, 20), "b": Counts(400, 34), "c": Counts(400, 20), "d": Counts(400, 21)})
    assert alone.winner == "b" and three.winner == "a"
    assert three.p_values["b"] == pytest.approx(min(1.0, 3 * p_value(Counts(400, 34), Counts(400, 20))))


def test_of_two_significant_arms_the_higher_rate_wins():
    verdict = compare({"a": Counts(500, 20), "b": Counts(500, 60), "c": Counts(500, 80)})
    assert verdict.winner == "c" and verdict.p_value == verdict.p_values["c"] < 0.05
