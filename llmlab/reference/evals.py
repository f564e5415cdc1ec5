"""Lab 13: evaluating an LLM feature on a labelled set, and judging with an LLM.

Accuracy on 60 cases is an estimate: :func:`bootstrap_ci` says how far it could be off.
A regression gate (:func:`regression_gate`) fails CI only when a drop is larger than that
noise. An LLM judge is itself a classifier: :func:`judge_agreement` (Cohen's kappa) says how
far beyond chance it agrees with the labels; position and verbosity bias are measured by
swapping and padding the answers it compares.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from llmlab.reference.client import LLMRequest
from llmlab.reference.structured import Incident

__all__ = [
    "bootstrap_ci",
    "grading_prompt",
    "judge_agreement",
    "load_eval_set",
    "pairwise_prompt",
    "judge",
    "regression_gate",
    "triage_correct",
    "triage_severities",
]


def load_eval_set(path: Path) -> list[dict[str, Any]]:
    """The labelled cases of a JSONL eval set (one object per line)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def bootstrap_ci(
    correct: Sequence[bool] | Sequence[float],
    level: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the accuracy (the mean of ``correct``;
    any per-case scores work, e.g. a paired change of -1, 0 or +1).

    Resample the n cases with replacement ``n_resamples`` times
    (``np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))``), take each
    resample's mean, and return the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles.
    """
    x = np.asarray(correct, dtype=float)
    if x.size == 0:
        raise ValueError("bootstrap_ci needs at least one case")
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_resamples, x.size))
    means = x[idx].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def regression_gate(
    new: Sequence[bool], baseline: Sequence[bool], confidence: float = 0.95, seed: int = 0
) -> tuple[bool, tuple[float, float]]:
    """(passes?, interval of the accuracy change): a paired, one-sided test on the same cases.

    Per case, new minus baseline (-1, 0 or +1). The gate fails when we are ``confidence``
    sure the accuracy dropped: the upper end of the two-sided ``2 * confidence - 1``
    bootstrap interval (the one-sided ``confidence`` bound) is below zero.
    """
    if len(new) != len(baseline):
        raise ValueError(f"{len(new)} new results for {len(baseline)} baseline cases")
    change = np.asarray(new, dtype=float) - np.asarray(baseline, dtype=float)
    low, high = bootstrap_ci(change.tolist(), level=2 * confidence - 1, seed=seed)
    return high >= 0, (low, high)


async def triage_severities(
    client: Any, cases: Sequence[dict[str, Any]], prepare: Callable[[str], str] | None = None
) -> list[str]:
    """The severity ``client`` (an LLMClient) gives each case's report, concurrently.

    ``prepare`` turns a report into the text sent (default: as it is).
    """

    async def one(case: dict[str, Any]) -> str:
        text = prepare(case["report"]) if prepare else case["report"]
        request = LLMRequest.ask(text, system=TRIAGE_SYSTEM, max_tokens=200, temperature=0.0)
        result = await client.generate(request, schema=Incident)
        return str(result.parsed.severity)

    return list(await asyncio.gather(*(one(c) for c in cases)))


async def triage_correct(
    client: Any, cases: Sequence[dict[str, Any]], prepare: Callable[[str], str] | None = None
) -> list[bool]:
    """Per case, did ``client`` triage the report to its labelled severity?"""
    found = await triage_severities(client, cases, prepare)
    return [sev == case["severity"] for sev, case in zip(found, cases, strict=True)]


async def judge(client: Any, prompt: str) -> str:
    """A judge's one-word verdict (PASS/FAIL, A/B) for ``prompt``, at temperature 0."""
    result = await client.generate(LLMRequest.ask(prompt, max_tokens=5, temperature=0.0))
    return str(result.text).strip()


TRIAGE_SYSTEM = "Triage this incident report for Northwind's on-call team."


def judge_agreement(judge: Sequence[bool], labels: Sequence[bool]) -> float:
    """Cohen's kappa of the judge's verdicts against the labels: 1 perfect, 0 chance level."""
    if len(judge) != len(labels) or not labels:
        raise ValueError("judge and labels must be non-empty and of the same length")
    j = np.asarray(judge, dtype=bool)
    y = np.asarray(labels, dtype=bool)
    observed = float(np.mean(j == y))
    expected = float(j.mean() * y.mean() + (1 - j.mean()) * (1 - y.mean()))
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1 - expected)


def grading_prompt(report: str, answer: str) -> str:
    """Ask a judge to grade one triage answer: it replies PASS or FAIL."""
    return (
        "You grade incident triage. Reply with one word: PASS if the proposed severity is "
        f"right for the report, FAIL if not.\n\nReport: {report}\n\nProposed answer: {answer}"
    )


def pairwise_prompt(report: str, first: str, second: str) -> str:
    """Ask a judge which of two triage answers is better: it replies A or B."""
    return (
        "Which triage answer is better for this report? Reply with one letter, A or B.\n\n"
        f"Report: {report}\n\nAnswer A: {first}\n\nAnswer B: {second}"
    )
