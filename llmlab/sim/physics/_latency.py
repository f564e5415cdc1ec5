"""Latency physics: time to first token from prefill, then paced decode, with seeded jitter.

TTFT = base + uncached_input * prefill_per_token + cached_input * cached_per_token.
Calibration (simulated seconds, before the time scale): for claude-sonnet-4-6 a 100k-token
prompt takes about 11.5 s to first token uncached (Anthropic's published book example) and
about 2.1 s cached (-81 %; published: -79 %, "up to 85 %"); cached prefill costs 15 % of
uncached, the asymptote of "up to 85 %". OpenAI profiles use 20 % ("up to 80 %").
Expected cached/uncached TTFT: Sonnet 0.40 at 10k tokens, 0.18 at 100k; gpt-4.1-mini 0.48 and
0.24. The table and the measured values are in ``llmlab/sim/PHYSICS.md``.
"""

from __future__ import annotations

import numpy as np

from llmlab.sim.model._catalog import LatencyProfile


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
