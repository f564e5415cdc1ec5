"""Lab 01 checkers: softmax with temperature, top-p, top-k, frequency/presence penalties.

Every case is chosen to catch a specific plausible mistake (named in the hint); the tests in
``tests/exercises/test_lab01.py`` keep those wrong versions and assert each one fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from llmlab.check._diagnose import Mistake, unchanged, verdict
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import call
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


# -- plausible wrong versions, used to name the mistake a learner's answer reproduces ----------


def _first_max_one_hot(values: Sequence[float], last: bool = False) -> list[float]:
    best = max(range(len(values)), key=lambda i: (values[i], i if last else -i))
    return [1.0 if i == best else 0.0 for i in range(len(values))]


def _exp_shifted(logits: Sequence[float], t: float) -> list[float]:
    top = max(logits)
    return [math.exp((x - top) / t) for x in logits]


def _softmax_mistakes(logits: list[float], t: float) -> list[Mistake]:
    return [
        (
            "normalise: divide each exponential by the SUM of the exponentials, so the "
            "probabilities add up to 1",
            lambda: _exp_shifted(logits, t) if t > 0 else [],
        ),
        (
            "divide the logits by T (T < 1 sharpens, T > 1 flattens); you multiplied by T",
            lambda: ref.softmax([x * t for x in logits], 1.0) if t > 0 else [],
        ),
        ("apply the temperature: divide every logit by T", lambda: ref.softmax(logits, 1.0)),
        (
            "T = 0 is greedy: a one-hot vector on the FIRST maximum (values.index(max(values)))",
            lambda: _first_max_one_hot(logits, last=True) if t <= 0 else [],
        ),
        (
            "T = 0 is exactly greedy: a one-hot vector (1.0 and zeros), not a very small T",
            lambda: ref.softmax(logits, 0.05) if t <= 0 else [],
        ),
        (
            "T = 0 is greedy: 1.0 on the first maximum and 0.0 elsewhere, not a uniform split",
            lambda: [1.0 / len(logits)] * len(logits) if t <= 0 else [],
        ),
    ]


_SOFTMAX_CASES: list[tuple[list[float], float, str]] = [
    ([2.0, 1.0, 0.1], 1.0, "exponentiate, then divide by the sum"),
    ([2.0, 1.0, 0.1], 0.5, "divide the logits by T (T < 1 sharpens); do not multiply"),
    ([2.0, 1.0, 0.1], 2.0, "divide the logits by T (T > 1 flattens); do not multiply"),
    ([1.0, 3.0, 3.0, 0.0], 0.0, "T = 0 is greedy: one-hot on the FIRST maximum"),
    ([-1.0, 0.5, 0.25], 0.0, "T = 0 is greedy: a one-hot vector, not a division by zero"),
    ([1000.0, 999.0, 998.0], 1.0, "subtract the maximum logit before exp() to avoid overflow"),
    ([-1000.0, -1001.0, -1002.0], 0.5, "subtract the maximum logit: exp(-2000) underflows to 0"),
    ([0.0, 0.0, 0.0, 0.0], 0.7, "equal logits give a uniform distribution"),
]

_NO_MUTATION = "do not change the list you are given: later cells reuse it (work on a copy)"


def _judged(
    label: str,
    candidate: Any,
    values: list[float],
    rest: tuple[Any, ...],
    want: list[float],
    rule: str,
    mistakes: list[Mistake],
) -> Case:
    """Call ``candidate(copy_of_values, *rest)`` and judge both its answer and the copy."""
    given = list(values)
    got = call(label, candidate, given, *rest)
    case = verdict(label, got, want, same=_close, show=_fmt, rule=rule, mistakes=mistakes)
    return unchanged(case, values, given, _NO_MUTATION)


@exercise(
    "01.softmax",
    "softmax(logits: Sequence[float], temperature: float = 1.0) -> list[float]",
    "softmax with temperature; temperature 0 gives a one-hot on the first maximum",
    ref.softmax,
)
def _check_softmax(candidate: Any) -> Iterator[Case]:
    for logits, t, hint in _SOFTMAX_CASES:
        label = f"softmax({logits}, temperature={t})"
        yield _judged(
            label,
            candidate,
            logits,
            (t,),
            ref.softmax(logits, t),
            hint,
            _softmax_mistakes(logits, t),
        )
    label = "softmax([2.0, 1.0, 0.1]) with the default temperature"
    yield verdict(
        label,
        call(label, candidate, [2.0, 1.0, 0.1]),
        ref.softmax([2.0, 1.0, 0.1]),
        same=_close,
        show=_fmt,
        rule="the default temperature is 1.0",
    )


def _nucleus(probs: Sequence[float], p: float, keep_crossing: bool, tol: float) -> list[int]:
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    keep: list[int] = []
    cumulative = 0.0
    for i in order:
        if not keep_crossing and keep and cumulative + probs[i] > p + tol:
            break
        keep.append(i)
        cumulative += probs[i]
        if keep_crossing and cumulative >= p - tol:
            break
    return keep


def _kept(probs: Sequence[float], keep: Sequence[int], renorm: bool = True) -> list[float]:
    out = [float(q) if i in set(keep) else 0.0 for i, q in enumerate(probs)]
    total = sum(out)
    return [q / total for q in out] if renorm else out


def _top_p_mistakes(probs: list[float], p: float) -> list[Mistake]:
    want = ref.top_p_filter(probs, p)
    return [
        (
            "floats: 0.7 + 0.2 is 0.8999999999999999, just below 0.9; stop when the sum reaches "
            "p within a tiny tolerance (cumulative >= p - 1e-12)",
            lambda: _kept(probs, _nucleus(probs, p, True, 0.0)) if p < 1 else [],
        ),
        (
            "renormalise: divide the kept probabilities by their sum so they add up to 1",
            lambda: _kept(probs, [i for i, q in enumerate(want) if q > 0], renorm=False),
        ),
        (
            "return the probabilities in the INPUT order (zero the dropped ones in place), "
            "not sorted",
            lambda: sorted(want, reverse=True),
        ),
        (
            "stop as soon as the sum reaches p: when it lands exactly on p, that token is the "
            "last one kept (>=, not >)",
            lambda: _kept(probs, _nucleus(probs, p, True, -1e-12)) if p < 1 else [],
        ),
        (
            "keep the token that crosses p: the kept set must REACH p, not stay below it",
            lambda: _kept(probs, _nucleus(probs, p, False, 1e-12)) if p < 1 else [],
        ),
        (
            "ties: sort stably by probability so the LOWER index comes first",
            lambda: _kept(
                probs,
                _nucleus_order(probs, p, sorted(range(len(probs)), key=lambda i: (-probs[i], -i))),
            ),
        ),
    ]


def _nucleus_order(probs: Sequence[float], p: float, order: list[int]) -> list[int]:
    keep: list[int] = []
    cumulative = 0.0
    for i in order:
        keep.append(i)
        cumulative += probs[i]
        if cumulative >= p - ref.TOP_P_TOLERANCE:
            break
    return keep


_TOP_P_CASES: list[tuple[list[float], float, str]] = [
    ([0.5, 0.25, 0.125, 0.125], 0.75, "0.5 + 0.25 reaches p = 0.75 exactly: keep those two"),
    ([0.5, 0.25, 0.125, 0.125], 0.6, "keep the token that crosses p (0.5 < 0.6 <= 0.75)"),
    ([0.1, 0.5, 0.15, 0.25], 0.7, "return probabilities in the INPUT order, not sorted"),
    ([0.4, 0.35, 0.25], 0.5, "renormalise the kept probabilities so they sum to 1"),
    ([0.25, 0.5, 0.25], 0.6, "ties: the lower index is kept first"),
    ([0.7, 0.2, 0.1], 1.0, "p = 1 keeps every token"),
    ([0.7, 0.2, 0.1], 0.3, "the top token alone already reaches p"),
    (
        [0.7, 0.2, 0.1],
        0.9,
        "0.7 + 0.2 lands on p = 0.9 (as 0.8999999999999999 in floats): stop there",
    ),
]


@exercise(
    "01.top_p",
    "top_p_filter(probs: Sequence[float], p: float) -> list[float]",
    "nucleus filter: smallest top set reaching p, others zeroed, renormalised, input order",
    ref.top_p_filter,
)
def _check_top_p(candidate: Any) -> Iterator[Case]:
    for probs, p, hint in _TOP_P_CASES:
        label = f"top_p_filter({probs}, p={p})"
        yield _judged(
            label,
            candidate,
            probs,
            (p,),
            ref.top_p_filter(probs, p),
            hint,
            _top_p_mistakes(probs, p),
        )


def _top_k_mistakes(probs: list[float], k: int) -> list[Mistake]:
    want = ref.top_k_filter(probs, k)
    by_high = sorted(range(len(probs)), key=lambda i: (-probs[i], -i))
    return [
        (
            "k = 0 means top-k is off: return every probability unchanged (the pipeline later "
            "in this notebook passes top_k=0)",
            lambda: [0.0] * len(probs) if k <= 0 else [],
        ),
        (
            "renormalise: divide the kept probabilities by their sum so they add up to 1",
            lambda: _kept(probs, [i for i, q in enumerate(want) if q > 0], renorm=False),
        ),
        (
            "return the probabilities in the INPUT order (zero the dropped ones in place), "
            "not sorted",
            lambda: sorted(want, reverse=True),
        ),
        (
            "ties go to the LOWER index: sort stably by probability alone",
            lambda: _kept(probs, by_high[:k]) if 0 < k < len(probs) else [],
        ),
    ]


_TOP_K_CASES: list[tuple[list[float], int, str]] = [
    ([0.1, 0.4, 0.2, 0.3], 2, "keep the 2 largest and renormalise them to sum to 1"),
    ([0.3, 0.2, 0.2, 0.3], 3, "ties go to the LOWER index"),
    ([0.05, 0.15, 0.5, 0.3], 3, "return probabilities in the INPUT order, not sorted"),
    ([0.6, 0.3, 0.1], 1, "k = 1 is greedy"),
    ([0.6, 0.3, 0.1], 3, "k = len(probs) keeps everything"),
    ([0.6, 0.3, 0.1], 5, "k larger than the list keeps everything"),
    ([0.5, 0.3, 0.2], 0, "k = 0 means top-k is off: every probability is kept unchanged"),
]


@exercise(
    "01.top_k",
    "top_k_filter(probs: Sequence[float], k: int) -> list[float]",
    "keep the k largest (ties by lower index), zero the rest, renormalise; k <= 0 keeps all",
    ref.top_k_filter,
)
def _check_top_k(candidate: Any) -> Iterator[Case]:
    for probs, k, hint in _TOP_K_CASES:
        label = f"top_k_filter({probs}, k={k})"
        yield _judged(
            label,
            candidate,
            probs,
            (k,),
            ref.top_k_filter(probs, k),
            hint,
            _top_k_mistakes(probs, k),
        )


def _penalty_mistakes(
    logits: list[float], counts: dict[int, int], freq: float, pres: float
) -> list[Mistake]:
    def rule(f: Callable[[int], float]) -> list[float]:
        out = list(logits)
        for tok, n in counts.items():
            out[tok] -= f(n)
        return out

    return [
        (
            "a count of 0 means the token is absent: apply no penalty at all for it",
            lambda: rule(lambda n: n * freq + pres),
        ),
        (
            "the frequency penalty is multiplied by the count (count * frequency_penalty)",
            lambda: rule(lambda n: (freq + pres) if n > 0 else 0.0),
        ),
        (
            "the presence penalty applies once, whatever the count ([count > 0] * presence)",
            lambda: rule(lambda n: n * (freq + pres)),
        ),
        (
            "penalties are SUBTRACTED from the logits",
            lambda: rule(lambda n: -(n * freq + (pres if n > 0 else 0.0))),
        ),
        (
            "frequency_penalty goes with the count, presence_penalty with [count > 0]: "
            "you swapped them",
            lambda: rule(lambda n: n * pres + freq if n > 0 else 0.0),
        ),
    ]


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
        label = (
            f"apply_penalties({logits}, counts={counts}, frequency_penalty={freq}, "
            f"presence_penalty={pres})"
        )
        yield _judged(
            label,
            candidate,
            logits,
            (
                dict(counts),
                freq,
                pres,
            ),
            ref.apply_penalties(logits, counts, freq, pres),
            hint,
            _penalty_mistakes(logits, counts, freq, pres),
        )
