"""Latency physics: time to first token from prefill, then paced decode, with seeded jitter.

TTFT = base + uncached_input * prefill_per_token + cached_input * cached_per_token.
Calibration (simulated seconds, before the time scale): claude-sonnet-4-6 is fitted to both
of Anthropic's published caching points, cached/uncached TTFT 0.69 at 10k tokens (1.6 s ->
1.1 s) and 0.21 at 100k (11.5 s -> 2.4 s), with 100k uncached at 11.5 s; that needs a fixed
part of about twice the 10k prefill time (base 1.96 s). OpenAI profiles use cached prefill =
20 % of uncached ("up to 80 %"): gpt-4.1-mini 0.48 at 10k, 0.24 at 100k. The derivation and
the measured values are in ``llmlab/sim/PHYSICS.md``.
"""

from __future__ import annotations

import numpy as np

from llmlab.sim._catalog import LatencyProfile


def _jitter(profile: LatencyProfile, rng: np.random.Generator) -> float:
    return float(np.exp(rng.normal(0.0, profile.jitter))) if profile.jitter > 0 else 1.0


def time_to_first_token(
    profile: LatencyProfile, uncached: int, cached: int, rng: np.random.Generator
) -> float:
    """Simulated seconds from request to first output token."""
    prefill = uncached * profile.prefill_per_token + cached * profile.cached_per_token
    return (profile.base + prefill) * _jitter(profile, rng)


def decode_times(
    profile: LatencyProfile, n_tokens: int, rng: np.random.Generator, slowdown: float = 1.0
) -> list[float]:
    """Simulated seconds before each output token after the first."""
    factor = _jitter(profile, rng) * slowdown
    return [profile.decode_per_token * factor] * n_tokens
