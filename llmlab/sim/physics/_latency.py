"""Latency physics: time to first token from prefill, then paced decode, with seeded jitter.

TTFT = base + uncached_input * prefill_per_token + cached_input * cached_per_token.
Claude profiles are fitted to both of Anthropic's published caching points: cached / uncached
TTFT 0.69 at 10k tokens (1.6 s -> 1.1 s) and 0.21 at 100k (11.5 s -> 2.4 s). With a fully
cached n-token prefix r(n) = (f + k n) / (f + n), f = base / prefill_per_token and
k = cached / uncached per token; the two points give f = 20,517 tokens (the fixed part is about
twice the 10k prefill time) and k = 0.0463. The scale keeps each model's short-prompt TTFT
(base 0.45 s Sonnet, 0.30 s Haiku, 0.70 s Opus; prefill = base / 20,517), so every Claude model
expects 0.82 at 4.7k tokens, 0.69 at 10k and 0.21 at 100k; what is given up is the published
absolute times (Sonnet 100k: 2.64 s uncached, 0.55 s cached, against 11.5 s and 2.4 s). OpenAI
publishes no such table: cached prefill is 20 % of uncached ("up to 80 %"), gpt-4.1-mini 0.48
at 10k and 0.24 at 100k. Derivation, the choice and the measured values: ``PHYSICS.md``.
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
