"""Lab 13 checkers pass the references and reject plausible wrong intervals and kappas."""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np

from llmlab.check import run
from llmlab.reference.evals import bootstrap_ci, judge_agreement

from ._helpers import assert_mistakes_named


def test_references_pass_and_a_textbook_figure() -> None:
    assert run("13.bootstrap_ci", bootstrap_ci).passed
    assert run("13.judge_agreement", judge_agreement).passed
    low, high = bootstrap_ci([True] * 45 + [False] * 15)
    assert low < 0.75 < high and 0.15 < high - low < 0.25  # about +-0.11 around 75 %


def test_stubs_are_not_attempted() -> None:
    def stub(*_: Any, **__: Any) -> Any:
        raise NotImplementedError

    assert not run("13.bootstrap_ci", stub).attempted
    assert not run("13.judge_agreement", stub).attempted


# -- bootstrap_ci -------------------------------------------------------------------------------
def _means(correct: list[bool], n_resamples: int, seed: int) -> np.ndarray:
    x = np.asarray(correct, dtype=float)
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_resamples, x.size))
    return x[idx].mean(axis=1)


def ci_without_replacement(correct, level=0.95, n_resamples=10_000, seed=0):  # type: ignore[no-untyped-def]
    x = np.asarray(correct, dtype=float)
    rng = np.random.default_rng(seed)
    means = [x[rng.permutation(x.size)].mean() for _ in range(n_resamples)]
    return tuple(np.quantile(means, [(1 - level) / 2, (1 + level) / 2]))


def ci_one_sided_tails(correct, level=0.95, n_resamples=10_000, seed=0):  # type: ignore[no-untyped-def]
    return tuple(np.quantile(_means(correct, n_resamples, seed), [1 - level, level]))


def ci_normal(correct, level=0.95, n_resamples=10_000, seed=0):  # type: ignore[no-untyped-def]
    p = float(np.mean(correct))
    half = NormalDist().inv_cdf((1 + level) / 2) * (p * (1 - p) / len(correct)) ** 0.5
    return p - half, p + half


def ci_percent(correct, level=0.95, n_resamples=10_000, seed=0):  # type: ignore[no-untyped-def]
    low, high = np.quantile(_means(correct, n_resamples, seed), [(1 - level) / 2, (1 + level) / 2])
    return 100 * low, 100 * high


def ci_unseeded(correct, level=0.95, n_resamples=10_000, seed=0):  # type: ignore[no-untyped-def]
    x = np.asarray(correct, dtype=float)
    idx = np.random.default_rng().integers(0, x.size, size=(n_resamples, x.size))
    return tuple(np.quantile(x[idx].mean(axis=1), [(1 - level) / 2, (1 + level) / 2]))


def ci_fixed_seed(correct, level=0.95, n_resamples=10_000, seed=0):  # type: ignore[no-untyped-def]
    low, high = np.quantile(_means(correct, n_resamples, 0), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def test_bootstrap_mistakes_are_named() -> None:
    assert_mistakes_named(
        "13.bootstrap_ci",
        {
            ci_without_replacement: "WITH replacement",
            ci_one_sided_tails: "split the leftover",
            ci_normal: "normal approximation",
            ci_percent: "fractions",
            ci_unseeded: "use the seed",
            ci_fixed_seed: "not a fixed one",
        },
    )


# -- judge_agreement ----------------------------------------------------------------------------
def raw_agreement(judge: list[bool], labels: list[bool]) -> float:
    return float(np.mean(np.array(judge) == np.array(labels)))


def kappa_fixed_chance(judge: list[bool], labels: list[bool]) -> float:
    return (raw_agreement(judge, labels) - 0.5) / 0.5


def kappa_pass_only(judge: list[bool], labels: list[bool]) -> float:
    pe = np.mean(judge) * np.mean(labels)
    return float((raw_agreement(judge, labels) - pe) / (1 - pe))


def test_kappa_mistakes_are_named() -> None:
    assert_mistakes_named(
        "13.judge_agreement",
        {
            raw_agreement: "raw agreement",
            kappa_fixed_chance: "fixed 0.5",
            kappa_pass_only: "agreeing on FAIL",
        },
    )
