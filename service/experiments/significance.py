"""Whether an arm is significantly better than the original: the statistics of a decision.

The test: per arm against arm a, **Fisher's exact test**, one-sided (the alternative: the arm's
unique click rate is greater than a's), on the 2x2 table of measured recipients who clicked the
experiment's block and who did not (``scipy.stats.fisher_exact``). Why this one:

- exact: it needs no normal approximation, so it stays valid for what a test phase measures, a
  10% sample a few hours in, where an arm may have a handful of clickers and the chi-square
  test's or the two-proportion z-test's condition (expected counts of at least 5 per cell) fails;
  with large counts it agrees with them;
- one-sided: only "better than a" changes what is sent; an arm worse than a, or equal, keeps a.

Several arms: each is compared with a, and **Holm's step-down correction** keeps the chance of
declaring any false winner at all (the family-wise error rate) at ``ALPHA``: the smallest p-value
is multiplied by the number of comparisons m, the next by m - 1, and so on, each at least the one
before (an arithmetic on p-values, no distribution). It is never less powerful than Bonferroni's
and needs no assumption about how the arms' results depend on each other.

The winner is, among the arms whose corrected p-value is below ``ALPHA``, the one with the
highest measured rate; without one, the original (arm a) is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from scipy.stats import fisher_exact

from service.content.model import ORIGINAL

ALPHA = 0.05  # the family-wise error rate: at most 5% of decisions send an arm that is no better
METHOD = "Fisher's exact test (one-sided, each arm vs a), Holm-corrected, alpha 0.05"


@dataclass(frozen=True)
class Counts:
    """One arm's measured recipients (clicks measured) and unique clickers of the experiment's block."""

    measured: int
    clickers: int

    @property
    def rate(self) -> float:
        return self.clickers / self.measured if self.measured else 0.0


@dataclass(frozen=True)
class Verdict:
    winner: str
    p_values: Mapping[str, float]  # per arm but a: its Holm-corrected one-sided p-value against a
    method: str = METHOD

    @property
    def p_value(self) -> float | None:
        """The winner's corrected p-value; with a kept, the smallest any arm reached (None: no arm)."""
        if self.winner != ORIGINAL:
            return self.p_values[self.winner]
        return min(self.p_values.values(), default=None)


def p_value(arm: Counts, original: Counts) -> float:
    """One-sided p-value of "the arm's rate is greater than the original's" (Fisher's exact test)."""
    if not arm.measured or not original.measured:
        return 1.0
    table = [[arm.clickers, arm.measured - arm.clickers],
             [original.clickers, original.measured - original.clickers]]
    return float(fisher_exact(table, alternative="greater").pvalue)


def holm(p_values: Mapping[str, float]) -> dict[str, float]:
    """Holm's step-down adjusted p-values (each compared with ALPHA as it is)."""
    ordered = sorted(p_values.items(), key=lambda item: (item[1], item[0]))
    adjusted, running, m = {}, 0.0, len(ordered)
    for rank, (name, p) in enumerate(ordered):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[name] = running
    return adjusted


def compare(counts: Mapping[str, Counts], alpha: float = ALPHA) -> Verdict:
    """The winner of an experiment from its arms' counts (arm a among them)."""
    original = counts.get(ORIGINAL, Counts(0, 0))
    corrected = holm({arm: p_value(c, original) for arm, c in counts.items() if arm != ORIGINAL})
    better = [arm for arm, p in corrected.items() if p < alpha and counts[arm].rate > original.rate]
    winner = max(better, key=lambda arm: (counts[arm].rate, -corrected[arm], arm), default=ORIGINAL)
    return Verdict(winner, corrected)
