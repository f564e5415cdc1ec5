"""Lab 13 checkers: a bootstrap confidence interval of accuracy, and a judge's Cohen's kappa."""

from __future__ import annotations

import math
from collections.abc import Iterator
from statistics import NormalDist
from typing import Any

import numpy as np

from llmlab.check._diagnose import Mistake, verdict
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, call
from llmlab.reference import evals as ref

# -- 13.bootstrap_ci ----------------------------------------------------------------------------
_CI_CASES: list[tuple[list[bool], float, int, int, str]] = [
    ([True] * 45 + [False] * 15, 0.95, 10_000, 0, "60 cases, 75 % right"),
    ([True] * 45 + [False] * 15, 0.95, 10_000, 1, "the same cases, another seed"),
    ([True, False] * 20, 0.90, 5_000, 7, "40 cases, 50 % right, a 90 % interval"),
    ([True] * 9 + [False], 0.95, 2_000, 3, "10 cases: a wide interval"),
    ([True] * 200 + [False] * 50, 0.99, 4_000, 5, "250 cases, a 99 % interval"),
]
_CI_RULE = (
    "rng = np.random.default_rng(seed); idx = rng.integers(0, n, size=(n_resamples, n)); "
    "means = x[idx].mean(axis=1); np.quantile(means, [(1 - level) / 2, (1 + level) / 2])"
)


def _ci(correct: list[bool], level: float, n_resamples: int, seed: int, **how: Any) -> Any:
    """``bootstrap_ci`` done the way a plausible mistake does it."""
    x = np.asarray(correct, dtype=float)
    rng = np.random.default_rng(seed)
    if how.get("normal"):
        p, z = x.mean(), NormalDist().inv_cdf((1 + level) / 2)
        half = z * math.sqrt(p * (1 - p) / x.size)
        return (p - half, p + half)
    if how.get("no_replacement"):
        means = np.array([x[rng.permutation(x.size)].mean() for _ in range(n_resamples)])
    elif how.get("transposed"):
        means = x[rng.integers(0, x.size, size=(x.size, n_resamples))].mean(axis=0)
    else:
        means = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    tails = how.get("tails", [(1 - level) / 2, (1 + level) / 2])
    low, high = np.quantile(means, tails)
    scale = 100.0 if how.get("percent") else 1.0
    return (low * scale, high * scale)


def _ci_mistakes(correct: list[bool], level: float, n: int, seed: int) -> list[Mistake]:
    return [
        (
            "resample WITH replacement (rng.integers): a permutation of all n cases always has "
            "the same mean, so the interval collapses to one point",
            lambda: _ci(correct, level, n, seed, no_replacement=True),
        ),
        (
            "split the leftover (1 - level) between the two tails: quantiles (1 - level) / 2 "
            "and (1 + level) / 2, not 1 - level and level",
            lambda: _ci(correct, level, n, seed, tails=[1 - level, level]),
        ),
        (
            "the quantiles are (1 - level) / 2 and (1 + level) / 2: the interval starts at the "
            "low tail, not at 0",
            lambda: _ci(correct, level, n, seed, tails=[0.0, level]),
        ),
        (
            "that is the normal approximation (p +- z sqrt(p(1-p)/n)); the exercise asks for "
            "the percentile bootstrap",
            lambda: _ci(correct, level, n, seed, normal=True),
        ),
        (
            "use the seed you are given (np.random.default_rng(seed)), not a fixed one",
            lambda: _ci(correct, level, n, 0),
        ),
        (
            "return fractions (0..1), not percentages",
            lambda: _ci(correct, level, n, seed, percent=True),
        ),
        (
            "draw the indices as size=(n_resamples, n) and average each row (axis=1): the same "
            "seed must give the same interval as the reference",
            lambda: _ci(correct, level, n, seed, transposed=True),
        ),
    ]


def _pair(got: Any) -> Any:
    if isinstance(got, Raised):
        return got
    try:
        low, high = got
        return (float(low), float(high))
    except (TypeError, ValueError):
        return got


def _same_pair(got: Any, want: Any) -> bool:
    return (
        isinstance(got, tuple)
        and len(got) == 2
        and all(
            math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12) for g, w in zip(got, want, strict=True)
        )
    )


def _show_pair(x: Any) -> str:
    return f"({x[0]:.4f}, {x[1]:.4f})" if isinstance(x, tuple) and len(x) == 2 else repr(x)


@exercise(
    "13.bootstrap_ci",
    "bootstrap_ci(correct: list[bool], level: float = 0.95, n_resamples: int = 10000, "
    "seed: int = 0) -> tuple[float, float]",
    "percentile-bootstrap confidence interval of the accuracy, seeded",
    ref.bootstrap_ci,
)
def _check_bootstrap_ci(candidate: Any) -> Iterator[Case]:
    # 2000 cases and 50 resamples: an unseeded draw gives another interval almost surely
    big = [True] * 1500 + [False] * 500
    runs = [
        _pair(call("bootstrap_ci(2000 cases, seed=11)", candidate, big, 0.95, 50, 11))
        for _ in range(3)
    ]
    if not any(isinstance(r, Raised) for r in runs) and len(set(map(repr, runs))) > 1:
        yield Case(
            False,
            "bootstrap_ci(2000 cases, level=0.95, n_resamples=50, seed=11), called three times",
            "the same interval every time",
            " then ".join(_show_pair(r) for r in runs),
            "use the seed: np.random.default_rng(seed), so an eval run can be reproduced",
            diagnosed=True,
        )
        return
    for correct, level, n, seed, what in _CI_CASES:
        label = f"bootstrap_ci({what}, level={level}, n_resamples={n}, seed={seed})"
        yield verdict(
            label,
            _pair(call(label, candidate, list(correct), level, n, seed)),
            ref.bootstrap_ci(correct, level, n, seed),
            same=_same_pair,
            show=_show_pair,
            rule=_CI_RULE,
            mistakes=_ci_mistakes(correct, level, n, seed),
        )


# -- 13.judge_agreement -------------------------------------------------------------------------
def _bools(pattern: str) -> list[bool]:
    return [c == "1" for c in pattern]


_KAPPA_CASES: list[tuple[str, str, str]] = [
    ("1111111100", "1111111010", "mostly PASS on both sides"),
    ("1100110011", "1100110011", "perfect agreement"),
    ("1111111111", "1111100000", "a judge that always says PASS"),
    ("1010101010", "0101010101", "always the opposite"),
    ("111000111000", "110100110001", "balanced, some disagreement"),
]


def _kappa_mistakes(j: list[bool], y: list[bool]) -> list[Mistake]:
    a, b = np.array(j, dtype=float), np.array(y, dtype=float)
    observed = float(np.mean(a == b))
    expected = float(a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean()))
    return [
        (
            "that is the raw agreement; kappa discounts the agreement expected by chance: "
            "(observed - expected) / (1 - expected)",
            lambda: observed,
        ),
        (
            "the chance agreement comes from both sides' rates: p_judge p_label + (1 - p_judge)"
            "(1 - p_label), not a fixed 0.5",
            lambda: (observed - 0.5) / 0.5,
        ),
        (
            "chance agreement counts agreeing on FAIL too: add (1 - p_judge)(1 - p_label)",
            lambda: (observed - a.mean() * b.mean()) / (1 - a.mean() * b.mean()),
        ),
        (
            "divide by (1 - expected), the most agreement possible beyond chance",
            lambda: (observed - expected) / (1 - observed) if observed < 1 else math.inf,
        ),
    ]


@exercise(
    "13.judge_agreement",
    "judge_agreement(judge: list[bool], labels: list[bool]) -> float",
    "Cohen's kappa of a judge's PASS/FAIL verdicts against the labels",
    ref.judge_agreement,
)
def _check_judge_agreement(candidate: Any) -> Iterator[Case]:
    for judge, labels, what in _KAPPA_CASES:
        j, y = _bools(judge), _bools(labels)
        label = f"judge_agreement(judge={judge}, labels={labels}) - {what}"
        got = call(label, candidate, list(j), list(y))
        yield verdict(
            label,
            got,
            ref.judge_agreement(j, y),
            same=lambda g, w: (
                isinstance(g, int | float)
                and not isinstance(g, bool)
                and math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-9)
            ),
            show=lambda x: f"{x:.4f}" if isinstance(x, int | float) else repr(x),
            rule="kappa = (observed - expected) / (1 - expected); observed = fraction equal; "
            "expected = p_judge p_label + (1 - p_judge)(1 - p_label)",
            mistakes=_kappa_mistakes(j, y),
        )
