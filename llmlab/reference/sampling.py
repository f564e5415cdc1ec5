"""Sampling from logits, in plain Python lists: the code lab 01 has learners write.

The simulator's numpy pipeline (``llmlab.sim.model._sampling``) applies the same rules in the same
order (penalties -> temperature softmax -> top-k -> top-p -> draw); a property test keeps the
two in agreement, so what a learner derives here is what the simulated provider does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

# Cumulative sums of floats land a hair below p (0.1 + 0.2 < 0.3 is False, but 0.7 + 0.1 + 0.1
# can be 0.8999999999999999): a tolerance this small keeps "reaches p" meaning what it says.
TOP_P_TOLERANCE = 1e-12


def softmax(logits: Sequence[float], temperature: float = 1.0) -> list[float]:
    """Probabilities from logits at ``temperature``; T <= 0 is greedy: one-hot on the FIRST max.

    Divides the logits by T (T < 1 sharpens, T > 1 flattens) and subtracts the maximum before
    exponentiating so large logits cannot overflow.
    """
    values = [float(x) for x in logits]
    if temperature <= 0:
        best = values.index(max(values))  # index() finds the first maximum
        return [1.0 if i == best else 0.0 for i in range(len(values))]
    scaled = [x / temperature for x in values]
    top = max(scaled)
    weights = [math.exp(x - top) for x in scaled]
    total = sum(weights)
    return [w / total for w in weights]


def _order_by_probability(probs: Sequence[float]) -> list[int]:
    """Indices from most to least probable; ties keep the lower index first (stable sort)."""
    return sorted(range(len(probs)), key=lambda i: -probs[i])


def _keep(probs: Sequence[float], keep: Sequence[int]) -> list[float]:
    """Zero every index not in ``keep`` and renormalise the rest; input order is preserved."""
    kept = set(keep)
    out = [float(p) if i in kept else 0.0 for i, p in enumerate(probs)]
    total = sum(out)
    return [p / total for p in out]


def top_p_filter(probs: Sequence[float], p: float) -> list[float]:
    """Nucleus filter: keep the smallest set of most probable tokens whose cumulative
    probability reaches ``p`` (the token that crosses p is kept), zero the rest, renormalise.

    Output is in the input's order. ``p >= 1`` keeps everything.
    """
    if p >= 1.0:
        return [float(x) for x in probs]
    keep: list[int] = []
    cumulative = 0.0
    for i in _order_by_probability(probs):
        keep.append(i)
        cumulative += probs[i]
        if cumulative >= p - TOP_P_TOLERANCE:
            break
    return _keep(probs, keep)


def top_k_filter(probs: Sequence[float], k: int) -> list[float]:
    """Keep the ``k`` most probable tokens (ties go to the lower index), zero the rest,
    renormalise; output in the input's order. ``k <= 0`` or ``k >= len(probs)`` keeps all.
    """
    if k <= 0 or k >= len(probs):
        return [float(x) for x in probs]
    return _keep(probs, _order_by_probability(probs)[:k])


def apply_penalties(
    logits: Sequence[float],
    counts: Mapping[int, int],
    frequency_penalty: float,
    presence_penalty: float,
) -> list[float]:
    """OpenAI's rule: ``logit - count * frequency_penalty - [count > 0] * presence_penalty``.

    ``counts`` maps token index -> how often it already appeared in the output; a count of 0
    means "not present", so neither penalty applies. The input is not modified.
    """
    out = [float(x) for x in logits]
    for token, n in counts.items():
        if n > 0:
            out[token] -= n * frequency_penalty + presence_penalty
    return out


def distribution(
    logits: Sequence[float],
    temperature: float = 1.0,
    top_p: float | None = None,
    top_k: int | None = None,
    counts: Mapping[int, int] | None = None,
    frequency_penalty: float = 0.0,
    presence_penalty: float = 0.0,
) -> list[float]:
    """The distribution the next token is drawn from, in the simulator's order:
    penalties -> softmax(T) -> top-k -> top-p."""
    adjusted = apply_penalties(logits, counts or {}, frequency_penalty, presence_penalty)
    probs = softmax(adjusted, temperature)
    if top_k is not None:
        probs = top_k_filter(probs, top_k)
    if top_p is not None:
        probs = top_p_filter(probs, top_p)
    return probs
