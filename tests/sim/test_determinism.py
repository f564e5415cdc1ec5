"""Outputs depend only on the request, the seed and the simulator's own counters.

Never on wall-clock timing (time scale) or on the order in which concurrent requests arrive.
"""

from __future__ import annotations

import asyncio
import random

import anthropic
import numpy as np
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


def test_block_drawn_uniforms_leave_the_generator_where_scalar_draws_do() -> None:
    from llmlab.sim.model._generate import _Uniforms

    # (first block, draws used): within the first block, exactly it, across later blocks, none
    for first, used in ((6, 2), (4, 4), (3, 70), (1, 0)):
        blocked, scalar = np.random.default_rng(5), np.random.default_rng(5)
        for rng in (blocked, scalar):
            rng.integers(0, 62, 3)  # leaves half a 64-bit draw buffered: the rewind keeps it
        uniforms = _Uniforms(blocked, limit=100, first=first)
        got = [uniforms.next() for _ in range(used)]
        uniforms.close()
        assert got == [scalar.random() for _ in range(used)]
        assert blocked.integers(0, 62, 24).tolist() == scalar.integers(0, 62, 24).tolist()
        assert blocked.random() == scalar.random()


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


#: sha256 of _seeded_corpus()'s replies and of its schedules as the simulator produced them
#: before issue 18's speed work, per SDK world (the SDKs send different bodies, so the seeded
#: draws differ between worlds). A speed-up that changes one byte of a reply, one token count,
#: id or simulated delay changes a digest, and stored notebook outputs with it. A deliberate
#: change of the latency model changes the schedules only: then update SCHEDULE_DIGESTS (done
#: once, for the two-point cache latency fit).
REPLY_DIGESTS = {
    "httpx2": "958aee7f647c31aa98b03d4042311a1b3b0acbfd60646fb111a2d51accb3f642",
    "httpx": "aba3da09047a04002764d1726e054e2a10c83681b48bcb5acdf9e3ed8c12b831",
}
SCHEDULE_DIGESTS = {
    "httpx2": "d4b1107f9dfb3e83afa6181879233fdcf95846b3ee8d32124436dd651c91e960",
    "httpx": "d4b1107f9dfb3e83afa6181879233fdcf95846b3ee8d32124436dd651c91e960",
}


def _seeded_corpus() -> tuple[str, str]:
    """Seeded replies through the real SDKs: texts, ids, usage, logprobs, SSE bytes and the
    simulated schedule of every body (wall-clock fields such as ``created`` left out)."""
    import json

    from llmlab.sim._engine import Simulator

    schedules: list[list[str]] = []
    paced = Simulator.paced

    def recording(self: Simulator, timeline: list[tuple[float, bytes, int]], *a: object) -> object:
        schedules.append([repr(d) for d, _, _ in timeline])
        return paced(self, timeline, *a)  # type: ignore[arg-type]

    out: list[object] = []
    Simulator.paced = recording  # type: ignore[assignment,method-assign]
    try:
        with llmlab.sim.mock(seed=21, time_scale=1e-6):
            a = anthropic.Anthropic(api_key="test", max_retries=0)
            o = openai.OpenAI(api_key="test", max_retries=0)
            for p in PROMPTS[:3]:
                m = a.messages.create(
                    model="claude-sonnet-4-6",
                    max_tokens=60,
                    messages=[{"role": "user", "content": p}],
                )
                out.append(m.model_dump(mode="json"))
            with a.messages.with_streaming_response.create(
                model="claude-sonnet-4-6",
                max_tokens=80,
                stream=True,
                messages=[{"role": "user", "content": PROMPTS[3]}],
            ) as raw:
                out.append(raw.read().decode())
            for p in PROMPTS[:2]:
                c = o.chat.completions.create(
                    model="gpt-4.1-mini",
                    max_tokens=30,
                    logprobs=True,
                    top_logprobs=2,
                    messages=[{"role": "user", "content": p}],
                )
                out.append({**c.model_dump(mode="json"), "created": 0})
            chunks = o.chat.completions.create(
                model="gpt-4.1-mini",
                max_tokens=40,
                stream=True,
                stream_options={"include_usage": True},
                messages=[{"role": "user", "content": PROMPTS[2]}],
            )
            out.append([{**ch.model_dump(mode="json"), "created": 0} for ch in chunks])
            r = o.responses.create(model="gpt-4.1-mini", max_output_tokens=40, input=PROMPTS[1])
            out.append([r.id, r.output_text, r.usage.model_dump(mode="json") if r.usage else None])
    finally:
        Simulator.paced = paced  # type: ignore[method-assign]
    return json.dumps(out, sort_keys=True), json.dumps(schedules)


def test_seeded_replies_are_byte_identical_to_before_the_speed_work() -> None:
    import hashlib

    world = llmlab.sim.sdk_http("anthropic").__name__
    replies, schedules = (hashlib.sha256(t.encode()).hexdigest() for t in _seeded_corpus())
    assert replies == REPLY_DIGESTS[world], f"{world}: the seeded replies changed ({replies})"
    assert schedules == SCHEDULE_DIGESTS[world], f"{world}: the schedules changed ({schedules})"
