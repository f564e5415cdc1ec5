"""Lab 01 checkers pass the reference, reject each plausible wrong answer, and the list-based
reference agrees with the simulator's numpy pipeline."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmlab.check import all_exercises, get, run
from llmlab.reference import sampling as ref
from llmlab.sim.model import _sampling as sim_sampling

from ._helpers import first_hint

# ---------------------------------------------------------------- wrong softmax variants


def softmax_multiplies(logits: Sequence[float], temperature: float = 1.0) -> list[float]:
    if temperature <= 0:
        return ref.softmax(logits, 0)
    return ref.softmax([x * temperature for x in logits], 1.0)


def softmax_t0_divides(logits: Sequence[float], temperature: float = 1.0) -> list[float]:
    scaled = [x / temperature for x in logits]  # ZeroDivisionError at T = 0
    return ref.softmax(scaled, 1.0)


def softmax_t0_last_max(logits: Sequence[float], temperature: float = 1.0) -> list[float]:
    if temperature <= 0:
        best = max(range(len(logits)), key=lambda i: (logits[i], i))  # last maximum
        return [1.0 if i == best else 0.0 for i in range(len(logits))]
    return ref.softmax(logits, temperature)


def softmax_t0_tiny(logits: Sequence[float], temperature: float = 1.0) -> list[float]:
    return ref.softmax(logits, max(temperature, 0.05))  # "nearly greedy", not one-hot


def softmax_no_shift(logits: Sequence[float], temperature: float = 1.0) -> list[float]:
    if temperature <= 0:
        return ref.softmax(logits, 0)
    weights = [math.exp(x / temperature) for x in logits]  # overflows at 1000
    return [w / sum(weights) for w in weights]


def softmax_unnormalised(logits: Sequence[float], temperature: float = 1.0) -> list[float]:
    if temperature <= 0:
        return ref.softmax(logits, 0)
    top = max(logits)
    return [math.exp((x - top) / temperature) for x in logits]


# ---------------------------------------------------------------- wrong top-p variants


def _nucleus(probs: Sequence[float], stop: Callable[[float, float], bool]) -> list[int]:
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    keep: list[int] = []
    cumulative = 0.0
    for i in order:
        if stop(cumulative, probs[i]):
            break
        keep.append(i)
        cumulative += probs[i]
    return keep or order[:1]


def _renorm(probs: Sequence[float], keep: Sequence[int]) -> list[float]:
    out = [p if i in set(keep) else 0.0 for i, p in enumerate(probs)]
    return [p / sum(out) for p in out]


def top_p_one_too_many(probs: Sequence[float], p: float) -> list[float]:
    if p >= 1:
        return list(probs)
    # stops only once the cumulative sum is strictly ABOVE p
    return _renorm(probs, _nucleus(probs, lambda cum, _: cum > p))


def top_p_one_too_few(probs: Sequence[float], p: float) -> list[float]:
    if p >= 1:
        return list(probs)
    # keeps tokens only while the total stays within p: drops the token that crosses p
    return _renorm(probs, _nucleus(probs, lambda cum, q: cum + q > p + 1e-12))


def top_p_no_renorm(probs: Sequence[float], p: float) -> list[float]:
    kept = ref.top_p_filter(probs, p)
    return [float(x) if k > 0 else 0.0 for x, k in zip(probs, kept, strict=True)]


def top_p_sorted_output(probs: Sequence[float], p: float) -> list[float]:
    return sorted(ref.top_p_filter(probs, p), reverse=True)


def top_p_no_tolerance(probs: Sequence[float], p: float) -> list[float]:
    if p >= 1:
        return list(probs)
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    keep, cumulative = [], 0.0
    for i in order:
        keep.append(i)
        cumulative += probs[i]
        if cumulative >= p:  # 0.7 + 0.2 = 0.8999999999999999 < 0.9: keeps one token too many
            break
    return _renorm(probs, keep)


def top_p_sorts_in_place(probs: Sequence[float], p: float) -> list[float]:
    assert isinstance(probs, list)
    want = ref.top_p_filter(probs, p)
    probs.sort(reverse=True)  # the caller's list is changed
    return want


# ---------------------------------------------------------------- wrong top-k variants


def top_k_ties_high(probs: Sequence[float], k: int) -> list[float]:
    if k <= 0 or k >= len(probs):
        return list(probs)
    order = sorted(range(len(probs)), key=lambda i: (-probs[i], -i))
    return _renorm(probs, order[:k])


def top_k_no_renorm(probs: Sequence[float], k: int) -> list[float]:
    kept = ref.top_k_filter(probs, k)
    return [float(x) if q > 0 else 0.0 for x, q in zip(probs, kept, strict=True)]


def top_k_sorted_output(probs: Sequence[float], k: int) -> list[float]:
    return sorted(ref.top_k_filter(probs, k), reverse=True)


def top_k_zero_keeps_nothing(probs: Sequence[float], k: int) -> list[float]:
    if k >= len(probs):
        return list(probs)
    keep = sorted(range(len(probs)), key=lambda i: -probs[i])[:k]
    return (
        [float(q) if i in keep else 0.0 for i, q in enumerate(probs)]
        if k == 0
        else _renorm(probs, keep)
    )


# ---------------------------------------------------------------- wrong penalty variants


def penalties_presence_on_zero(
    logits: Sequence[float], counts: Mapping[int, int], freq: float, pres: float
) -> list[float]:
    out = list(logits)
    for tok, n in counts.items():
        out[tok] -= n * freq + pres  # applies presence even when n == 0
    return out


def penalties_freq_once(
    logits: Sequence[float], counts: Mapping[int, int], freq: float, pres: float
) -> list[float]:
    out = list(logits)
    for tok, n in counts.items():
        if n > 0:
            out[tok] -= freq + pres  # frequency not multiplied by the count
    return out


def penalties_presence_times_count(
    logits: Sequence[float], counts: Mapping[int, int], freq: float, pres: float
) -> list[float]:
    out = list(logits)
    for tok, n in counts.items():
        out[tok] -= n * (freq + pres)
    return out


WRONG = {
    "01.softmax": [
        softmax_multiplies,
        softmax_t0_divides,
        softmax_t0_last_max,
        softmax_t0_tiny,
        softmax_no_shift,
        softmax_unnormalised,
    ],
    "01.top_p": [
        top_p_one_too_many,
        top_p_one_too_few,
        top_p_no_renorm,
        top_p_sorted_output,
        top_p_no_tolerance,
        top_p_sorts_in_place,
    ],
    "01.top_k": [top_k_ties_high, top_k_no_renorm, top_k_sorted_output, top_k_zero_keeps_nothing],
    "01.penalties": [
        penalties_presence_on_zero,
        penalties_freq_once,
        penalties_presence_times_count,
    ],
}
IDS = list(WRONG)


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_passes(exercise_id: str) -> None:
    result = run(exercise_id, get(exercise_id).reference)
    assert result.passed, result.report()


@pytest.mark.parametrize(
    ("exercise_id", "wrong"),
    [(eid, fn) for eid, fns in WRONG.items() for fn in fns],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_wrong_variant_fails(exercise_id: str, wrong: Callable[..., Any]) -> None:
    result = run(exercise_id, wrong)
    assert result.attempted and not result.passed, f"{wrong.__name__} was accepted"


@pytest.mark.parametrize(
    ("exercise_id", "wrong", "words"),
    [
        ("01.softmax", softmax_unnormalised, "SUM of the exponentials"),
        ("01.softmax", softmax_multiplies, "you multiplied"),
        ("01.softmax", softmax_t0_last_max, "FIRST maximum"),
        ("01.top_p", top_p_no_renorm, "renormalise"),
        ("01.top_p", top_p_no_tolerance, "0.8999999999999999"),
        ("01.top_p", top_p_sorted_output, "INPUT order"),
        ("01.top_p", top_p_sorts_in_place, "do not change the list"),
        ("01.top_k", top_k_zero_keeps_nothing, "k = 0 means top-k is off"),
        ("01.top_k", top_k_ties_high, "LOWER index"),
        ("01.penalties", penalties_presence_on_zero, "count of 0"),
        ("01.penalties", penalties_presence_times_count, "applies once"),
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) else None,
)
def test_first_hint_names_the_mistake(exercise_id: str, wrong: Any, words: str) -> None:
    result = run(exercise_id, wrong)
    assert not result.passed
    assert words in first_hint(result), result.report()


def test_exception_reports_case_and_learner_line() -> None:
    result = run("01.softmax", softmax_t0_divides)
    report = result.report()
    assert "temperature=0.0" in report and "ZeroDivisionError" in report
    assert "scaled = [x / temperature for x in logits]" in report, report


@pytest.mark.parametrize("exercise_id", IDS)
def test_stub_not_attempted(exercise_id: str) -> None:
    def stub(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    result = run(exercise_id, stub)
    assert not result.attempted and not result.passed
    assert "not attempted yet" in result.report()


def test_listed_with_signatures() -> None:
    ids = {e.id: e.signature for e in all_exercises()}
    assert ids["01.softmax"].startswith("softmax(logits: Sequence[float]")
    assert ids["01.top_p"] == "top_p_filter(probs: Sequence[float], p: float) -> list[float]"
    assert ids["01.top_k"] == "top_k_filter(probs: Sequence[float], k: int) -> list[float]"
    assert ids["01.penalties"].startswith("apply_penalties(logits: Sequence[float]")


# ---------------------------------------------------------------- reference == simulator

_logits = st.lists(st.floats(min_value=-20, max_value=20, allow_nan=False), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    logits=_logits,
    temperature=st.sampled_from([0.0, 0.3, 0.7, 1.0, 1.5]),
    top_k=st.one_of(st.none(), st.integers(min_value=1, max_value=12)),
    top_p=st.one_of(st.none(), st.floats(min_value=0.05, max_value=1.0)),
    freq=st.floats(min_value=0, max_value=2),
    pres=st.floats(min_value=0, max_value=2),
    data=st.data(),
)
def test_reference_agrees_with_simulator(
    logits: list[float],
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    freq: float,
    pres: float,
    data: st.DataObject,
) -> None:
    counts = data.draw(
        st.dictionaries(st.integers(0, len(logits) - 1), st.integers(0, 4), max_size=len(logits))
    )
    params = sim_sampling.SamplingParams(
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        frequency_penalty=freq,
        presence_penalty=pres,
    )
    want = sim_sampling.distribution(np.array(logits, dtype=float), params, counts)
    got = ref.distribution(logits, temperature, top_p, top_k, counts, freq, pres)
    np.testing.assert_allclose(got, want, atol=1e-9)
