"""The decoding pipeline the simulated providers apply to the model's logits.

Order (documented, as the course teaches it): penalties on logits -> temperature softmax ->
top-k -> top-p -> draw. Temperature 0 is greedy (first maximum). ``llmlab.reference.sampling``
holds the list-based versions learners write; tests keep the two in agreement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 1.0
    top_p: float | None = None
    top_k: int | None = None
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0


def penalise(logits: np.ndarray, counts: Mapping[int, int], freq: float, pres: float) -> np.ndarray:
    """OpenAI's rule: logit - count*frequency_penalty - [count>0]*presence_penalty."""
    if not counts or (freq == 0 and pres == 0):
        return logits
    out = logits.copy()
    for tok, n in counts.items():
        if n > 0:
            out[tok] -= n * freq + pres
    return out


def softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    if temperature <= 0:
        one_hot = np.zeros_like(logits)
        one_hot[int(np.argmax(logits))] = 1.0
        return one_hot
    z = logits / temperature
    z = np.exp(z - z.max())
    out: np.ndarray = z / z.sum()
    return out


def top_k(probs: np.ndarray, k: int | None) -> np.ndarray:
    if k is None or k <= 0 or k >= probs.size:
        return probs
    order = np.argsort(-probs, kind="stable")  # ties broken by lower index
    out = np.zeros_like(probs)
    keep = order[:k]
    out[keep] = probs[keep]
    normalised: np.ndarray = out / out.sum()
    return normalised


def top_p(probs: np.ndarray, p: float | None) -> np.ndarray:
    if p is None or p >= 1.0:
        return probs
    order = np.argsort(-probs, kind="stable")
    cumulative = np.cumsum(probs[order])
    # smallest prefix whose cumulative probability reaches p (1e-12 absorbs rounding)
    n_keep = int(np.searchsorted(cumulative, p - 1e-12) + 1)
    out = np.zeros_like(probs)
    keep = order[:n_keep]
    out[keep] = probs[keep]
    normalised: np.ndarray = out / out.sum()
    return normalised


def distribution(
    logits: np.ndarray, params: SamplingParams, counts: Mapping[int, int]
) -> np.ndarray:
    """The final distribution a token is drawn from."""
    adjusted = penalise(logits, counts, params.frequency_penalty, params.presence_penalty)
    probs = softmax(adjusted, params.temperature)
    return top_p(top_k(probs, params.top_k), params.top_p)


def draw(probs: np.ndarray, rng: np.random.Generator) -> int:
    """One inverse-CDF draw over the tokens with non-zero probability (one uniform per token)."""
    nonzero = np.flatnonzero(probs)
    cumulative = np.cumsum(probs[nonzero])
    i = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return int(nonzero[min(i, nonzero.size - 1)])
