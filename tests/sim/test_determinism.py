"""Outputs depend only on the request, the seed and the simulator's own counters.

Never on wall-clock timing (time scale) or on the order in which concurrent requests arrive.
"""

from __future__ import annotations

import asyncio
import random

import anthropic
import openai

import llmlab.sim

PROMPTS = [
    "Describe the checkout outage.",
    "How do we fail over the database replica?",
    "Summarise the payments incident.",
    "What does the search runbook say about latency?",
]


def _anthropic_run(seed: int, time_scale: float, prompts: list[str]) -> list[tuple[str, str]]:
    with llmlab.sim.mock(seed=seed, time_scale=time_scale):
        client = anthropic.Anthropic(api_key="test", max_retries=0)
        out = []
        for p in prompts:
            m = client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=20,
                messages=[{"role": "user", "content": p}],
            )
            out.append((m.id, m.content[0].text))  # type: ignore[union-attr]
        return out


def test_same_seed_same_outputs_any_time_scale() -> None:
    prompts = PROMPTS + PROMPTS  # repeats are sampled afresh, reproducibly
    first = _anthropic_run(3, 0.01, prompts)
    assert first == _anthropic_run(3, 1e-5, prompts)
    texts = [t for _, t in first]
    assert texts[0] != texts[4]  # a repeat at temperature 1 is a new sample
    assert [t for _, t in _anthropic_run(4, 1e-5, prompts)] != texts


async def _concurrent(order: list[int], seed: int) -> dict[str, str]:
    with llmlab.sim.mock(seed=seed, time_scale=1e-4):
        client = openai.AsyncOpenAI(api_key="test", max_retries=0)

        async def one(i: int) -> tuple[str, str]:
            c = await client.chat.completions.create(
                model="gpt-4.1-mini",
                messages=[{"role": "user", "content": PROMPTS[i]}],
                max_tokens=20,
            )
            return PROMPTS[i], c.choices[0].message.content or ""

        pairs = await asyncio.gather(*(one(i) for i in order))
        await client.close()
        return dict(pairs)


async def test_arrival_order_does_not_matter() -> None:
    order = list(range(len(PROMPTS)))
    baseline = await _concurrent(order, seed=5)
    shuffled = order[:]
    random.Random(1).shuffle(shuffled)
    assert await _concurrent(shuffled, seed=5) == baseline
    assert await _concurrent(order[::-1], seed=5) == baseline


def test_openai_seed_fixes_the_sample_regardless_of_history() -> None:
    def run(sim_seed: int, warmup: int) -> str:
        with llmlab.sim.mock(seed=sim_seed, time_scale=1e-5):
            client = openai.OpenAI(api_key="test", max_retries=0)
            for _ in range(warmup):
                client.chat.completions.create(
                    model="gpt-4.1-mini",
                    messages=[{"role": "user", "content": PROMPTS[0]}],
                    max_tokens=5,
                    seed=11,
                )
            c = client.chat.completions.create(
                model="gpt-4.1-mini",
                messages=[{"role": "user", "content": PROMPTS[0]}],
                max_tokens=5,
                seed=11,
            )
            return c.choices[0].message.content or ""

    assert run(0, 0) == run(0, 3)


def test_streamed_and_plain_agree_across_simulators() -> None:
    outs = []
    for _ in range(2):
        with llmlab.sim.mock(seed=9, time_scale=1e-5):
            client = anthropic.Anthropic(api_key="test", max_retries=0)
            with client.messages.stream(
                model="claude-sonnet-4-6",
                max_tokens=25,
                messages=[{"role": "user", "content": PROMPTS[1]}],
            ) as stream:
                outs.append("".join(stream.text_stream))
    assert outs[0] == outs[1] and outs[0]
