"""The latency draw is seeded: same seed and request, same latency; another seed differs."""

from __future__ import annotations

import numpy as np
import openai

from llmlab.sim import MODELS, mock
from llmlab.sim.physics._latency import decode_times, time_to_first_token

from ._helpers import GPT, KEY


def _processing_ms(seed: int) -> list[int]:
    """openai-processing-ms (the simulated latency, in real ms) for three requests."""
    with mock(seed=seed, time_scale=0.05):
        client = openai.OpenAI(api_key=KEY)
        out = []
        for i in range(3):
            raw = client.chat.completions.with_raw_response.create(
                model=GPT,
                max_tokens=30,
                temperature=0,
                messages=[{"role": "user", "content": f"Incident {i}: the API gateway is down."}],
            )
            out.append(int(raw.headers["openai-processing-ms"]))
        return out


def test_same_seed_same_latency_draw() -> None:
    first = _processing_ms(41)
    assert first == _processing_ms(41)
    assert first != _processing_ms(42)


def test_jitter_is_a_seeded_lognormal_factor() -> None:
    profile = MODELS["claude-sonnet-4-6"].latency

    def draw(seed: int) -> tuple[float, float]:
        rng = np.random.default_rng(seed)
        return time_to_first_token(profile, 10_000, 0, rng), sum(decode_times(profile, 50, rng))

    assert draw(1) == draw(1)
    ttfts = np.array([draw(s)[0] for s in range(400)])
    mean = profile.base + 10_000 * profile.prefill_per_token
    assert abs(np.median(ttfts) / mean - 1) < 0.02
    assert 0.05 < np.std(np.log(ttfts)) < 0.11  # ~8 % sigma
