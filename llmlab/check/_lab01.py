"""Lab 01 checkers: softmax with temperature, top-p, top-k, frequency/presence penalties.

Every case is chosen to catch a specific plausible mistake (named in the hint); the tests in
``tests/exercises/test_lab01.py`` keep those wrong versions and assert each one fails.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from llmlab.check._registry import Case, exercise
from llmlab.reference import sampling as ref

_TOL = 1e-9


def _fmt(values: Any) -> str:
    try:
        return "[" + ", ".join(f"{float(v):.4f}" for v in values) + "]"
    except (TypeError, ValueError):
        return repr(values)


def _close(got: Any, want: Sequence[float]) -> bool:
    try:
        values = [float(v) for v in got]
    except (TypeError, ValueError):
        return False
    return len(values) == len(want) and all(
        math.isfinite(g) and abs(g - w) <= _TOL for g, w in zip(values, want, strict=True)
    )


_SOFTMAX_CASES: list[tuple[list[float], float, str]] = [
    ([2.0, 1.0, 0.1], 1.0, "exponentiate, then divide by the sum"),
    ([2.0, 1.0, 0.1], 0.5, "divide the logits by T (T < 1 sharpens); do not multiply"),
    ([2.0, 1.0, 0.1], 2.0, "divide the logits by T (T > 1 flattens); do not multiply"),
    ([1.0, 3.0, 3.0, 0.0], 0.0, "T = 0 is greedy: one-hot on the FIRST maximum"),
    ([-1.0, 0.5, 0.25], 0.0, "T = 0 is greedy: a one-hot vector, not a division by zero"),
    ([1000.0, 999.0, 998.0], 1.0, "subtract the maximum logit before exp() to avoid overflow"),
    ([0.0, 0.0, 0.0, 0.0], 0.7, "equal logits give a uniform distribution"),
]


@exercise(
    "01.softmax",
    "softmax(logits: Sequence[float], temperature: float = 1.0) -> list[float]",
    "softmax with temperature; temperature 0 gives a one-hot on the first maximum",
    ref.softmax,
)
def _check_softmax(candidate: Any) -> Iterator[Case]:
    for logits, t, hint in _SOFTMAX_CASES:
        want = ref.softmax(logits, t)
        got = candidate(list(logits), t)
        yield Case(
            ok=_close(got, want),
            input=f"softmax({logits}, temperature={t})",
            expected=_fmt(want),
            got=_fmt(got),
            hint=hint,
        )


_TOP_P_CASES: list[tuple[list[float], float, str]] = [
    ([0.5, 0.25, 0.125, 0.125], 0.75, "0.5 + 0.25 reaches p = 0.75 exactly: keep those two"),
    ([0.5, 0.25, 0.125, 0.125], 0.6, "keep the token that crosses p (0.5 < 0.6 <= 0.75)"),
    ([0.1, 0.5, 0.15, 0.25], 0.7, "return probabilities in the INPUT order, not sorted"),
    ([0.4, 0.35, 0.25], 0.5, "renormalise the kept probabilities so they sum to 1"),
    ([0.25, 0.5, 0.25], 0.6, "ties: the lower index is kept first"),
    ([0.7, 0.2, 0.1], 1.0, "p = 1 keeps every token"),
    ([0.7, 0.2, 0.1], 0.3, "the top token alone already reaches p"),
]


@exercise(
    "01.top_p",
    "top_p_filter(probs: Sequence[float], p: float) -> list[float]",
    "nucleus filter: smallest top set reaching p, others zeroed, renormalised, input order",
    ref.top_p_filter,
)
def _check_top_p(candidate: Any) -> Iterator[Case]:
    for probs, p, hint in _TOP_P_CASES:
        want = ref.top_p_filter(probs, p)
        got = candidate(list(probs), p)
        yield Case(
            ok=_close(got, want),
            input=f"top_p_filter({probs}, p={p})",
            expected=_fmt(want),
            got=_fmt(got),
            hint=hint,
        )


_TOP_K_CASES: list[tuple[list[float], int, str]] = [
    ([0.1, 0.4, 0.2, 0.3], 2, "keep the 2 largest and renormalise them to sum to 1"),
    ([0.3, 0.2, 0.2, 0.3], 3, "ties go to the LOWER index"),
    ([0.05, 0.15, 0.5, 0.3], 3, "return probabilities in the INPUT order, not sorted"),
    ([0.6, 0.3, 0.1], 1, "k = 1 is greedy"),
    ([0.6, 0.3, 0.1], 3, "k = len(probs) keeps everything"),
]


@exercise(
    "01.top_k",
    "top_k_filter(probs: Sequence[float], k: int) -> list[float]",
    "keep the k largest (ties by lower index), zero the rest, renormalise",
    ref.top_k_filter,
)
def _check_top_k(candidate: Any) -> Iterator[Case]:
    for probs, k, hint in _TOP_K_CASES:
        want = ref.top_k_filter(probs, k)
        got = candidate(list(probs), k)
        yield Case(
            ok=_close(got, want),
            input=f"top_k_filter({probs}, k={k})",
            expected=_fmt(want),
            got=_fmt(got),
            hint=hint,
        )


_PENALTY_CASES: list[tuple[list[float], dict[int, int], float, float, str]] = [
    ([1.0, 2.0, 3.0], {2: 3}, 0.5, 0.0, "frequency penalty is multiplied by the count"),
    ([1.0, 2.0, 3.0], {2: 3}, 0.0, 0.4, "presence penalty is applied once, whatever the count"),
    ([1.0, 2.0, 3.0, 0.5], {0: 0, 1: 2}, 0.25, 1.0, "a count of 0 means absent: no penalty"),
    ([0.2, -0.3, 1.5], {}, 0.7, 0.7, "no counts: the logits come back unchanged"),
    ([2.0, 2.0], {0: 1, 1: 4}, 0.1, 0.6, "logit - count*frequency - [count>0]*presence"),
]


@exercise(
    "01.penalties",
    "apply_penalties(logits: Sequence[float], counts: Mapping[int, int], "
    "frequency_penalty: float, presence_penalty: float) -> list[float]",
    "OpenAI's rule: logit - count*frequency - [count>0]*presence",
    ref.apply_penalties,
)
def _check_penalties(candidate: Any) -> Iterator[Case]:
    for logits, counts, freq, pres, hint in _PENALTY_CASES:
        want = ref.apply_penalties(logits, counts, freq, pres)
        got = candidate(list(logits), dict(counts), freq, pres)
        yield Case(
            ok=_close(got, want),
            input=(
                f"apply_penalties({logits}, counts={counts}, frequency_penalty={freq}, "
                f"presence_penalty={pres})"
            ),
            expected=_fmt(want),
            got=_fmt(got),
            hint=hint,
        )
