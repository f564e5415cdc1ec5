"""Claims of notebook 01, measured through the OpenAI SDK against the simulator: sampled first
tokens follow softmax(logprobs / T); T = 0 is greedy; the same seed reproduces the text."""

from __future__ import annotations

import asyncio
from collections import Counter

import openai

from llmlab.reference.sampling import softmax
from llmlab.sim import mock

MODEL = "gpt-4.1-mini"
PROMPT = [{"role": "user", "content": "Write a status update about the payments outage."}]


def _top_logprobs(client: openai.OpenAI) -> tuple[list[str], list[float]]:
    first = client.chat.completions.create(
        model=MODEL, messages=PROMPT, max_tokens=1, logprobs=True, top_logprobs=20
    )
    assert first.choices[0].logprobs is not None and first.choices[0].logprobs.content
    top = first.choices[0].logprobs.content[0].top_logprobs
    assert len(top) == 20
    return [t.token for t in top], [t.logprob for t in top]


def test_empirical_first_tokens_match_softmax_of_logprobs() -> None:
    temperature, n = 0.5, 400
    with mock(seed=1, time_scale=0.01):
        candidates, logprobs = _top_logprobs(openai.OpenAI(api_key="test"))
        aclient = openai.AsyncOpenAI(api_key="test")

        async def sample() -> list[str]:
            replies = await asyncio.gather(
                *[
                    aclient.chat.completions.create(
                        model=MODEL, messages=PROMPT, max_tokens=1, temperature=temperature
                    )
                    for _ in range(n)
                ]
            )
            return [r.choices[0].message.content or "" for r in replies]

        counts = Counter(asyncio.run(sample()))
    inside = sum(counts[c] for c in candidates)
    assert inside / n > 0.85  # at T=0.5 the top 20 hold nearly all the mass
    theory = softmax(logprobs, temperature)
    empirical = [counts[c] / inside for c in candidates]
    assert max(abs(a - b) for a, b in zip(theory, empirical, strict=True)) < 0.06
    # and temperature applied as a multiplication would be clearly off
    wrong = softmax([x * temperature for x in logprobs], 1.0)
    assert max(abs(a - b) for a, b in zip(wrong, empirical, strict=True)) > 0.1


def test_temperature_zero_is_greedy_and_seeds_reproduce() -> None:
    with mock(seed=1, time_scale=0.01):
        client = openai.OpenAI(api_key="test")
        candidates, _ = _top_logprobs(client)
        greedy = {
            client.chat.completions.create(
                model=MODEL, messages=PROMPT, max_tokens=1, temperature=0
            )
            .choices[0]
            .message.content
            for _ in range(5)
        }

        def sample(seed: int) -> str | None:
            return (
                client.chat.completions.create(
                    model=MODEL, messages=PROMPT, max_tokens=20, temperature=1.0, seed=seed
                )
                .choices[0]
                .message.content
            )

        a, b, c = sample(42), sample(42), sample(7)
    assert greedy == {candidates[0]}
    assert a == b
    assert a != c


def test_temperature_derails_a_coherent_answer() -> None:
    """Lab 01's plot: coherence (well-formed sentence share, 8 seeds) vs temperature."""
    import numpy as np

    from llmlab.sim.quality import well_formed_share

    ask = "How do I roll back a bad deploy?"
    temps = (0.0, 1.0, 2.0)
    with mock(seed=1, time_scale=0.01):
        aclient = openai.AsyncOpenAI(api_key="test")

        async def reply(t: float, seed: int) -> str:
            r = await aclient.chat.completions.create(
                model=MODEL,
                max_tokens=80,
                temperature=t,
                seed=seed,
                messages=[{"role": "user", "content": ask}],
            )
            return r.choices[0].message.content or ""

        async def run() -> list[str]:
            return await asyncio.gather(*[reply(t, s) for t in temps for s in range(8)])

        texts = asyncio.run(run())
    score = [
        float(np.mean([well_formed_share(x, ask) for x in texts[8 * i : 8 * i + 8]]))
        for i in range(3)
    ]
    assert score[0] >= 0.9 and score[1] >= 0.9
    assert score[2] / score[0] < 0.5
