"""Concurrency overlaps, a concurrency cap queues, and SDK timeouts fire in-process."""

from __future__ import annotations

import asyncio
import time

import anthropic
import openai
import pytest

from llmlab.sim import Fault, FaultPlan, Simulator, mock, sdk_http

from ._helpers import CLAUDE, GPT, KEY, median

MESSAGES = [{"role": "user", "content": "Summarise the database outage."}]


async def _one(client: anthropic.AsyncAnthropic) -> float:
    start = time.perf_counter()
    await client.messages.create(model=CLAUDE, max_tokens=20, messages=MESSAGES)
    return time.perf_counter() - start


async def _many(client: anthropic.AsyncAnthropic, n: int) -> float:
    start = time.perf_counter()
    await asyncio.gather(*(_one(client) for _ in range(n)))
    return time.perf_counter() - start


def test_ten_concurrent_calls_take_about_one_calls_time() -> None:
    with mock(seed=11, time_scale=0.2):
        client = anthropic.AsyncAnthropic(api_key=KEY)

        async def scenario() -> tuple[float, float]:
            await _one(client)  # warm up
            single = median([await _one(client) for _ in range(3)])
            return single, await _many(client, 10)

        single, together = asyncio.run(scenario())
    assert together < 3 * single, (single, together)
    assert together < 0.4 * 10 * single  # ten sequential calls would take 10x


def test_max_concurrency_queues_the_rest() -> None:
    with mock(Simulator(seed=12, time_scale=0.2, max_concurrency=2)):
        client = anthropic.AsyncAnthropic(api_key=KEY)

        async def scenario() -> tuple[float, float]:
            await _one(client)
            single = median([await _one(client) for _ in range(3)])
            return single, await _many(client, 6)

        single, together = asyncio.run(scenario())
    assert together > 2.2 * single, (single, together)  # three waves of two
    assert together < 5 * single


def test_anthropic_timeout_fires_in_process() -> None:
    with mock(seed=13, time_scale=1.0):  # ~0.5 s to first token, more to finish
        client = anthropic.Anthropic(api_key=KEY)
        client.messages.create(model=CLAUDE, max_tokens=1, messages=MESSAGES)  # warm up
        quick = client.with_options(timeout=0.1, max_retries=0)
        start = time.perf_counter()
        with pytest.raises(anthropic.APITimeoutError):
            quick.messages.create(model=CLAUDE, max_tokens=50, messages=MESSAGES)
        elapsed = time.perf_counter() - start
    assert 0.1 <= elapsed < 0.4  # the timeout, not the simulated latency


def test_openai_timeout_fires_in_process() -> None:
    with mock(seed=14, time_scale=1.0):
        client = openai.OpenAI(api_key=KEY)
        client.with_options(timeout=30).chat.completions.create(
            model=GPT, max_tokens=1, messages=MESSAGES
        )  # warm up: the first request loads the tokenizer
        quick = client.with_options(timeout=0.1, max_retries=0)
        start = time.perf_counter()
        with pytest.raises(openai.APITimeoutError):
            quick.chat.completions.create(model=GPT, max_tokens=50, messages=MESSAGES)
        elapsed = time.perf_counter() - start
    assert 0.1 <= elapsed < 0.4


def test_read_timeout_between_stream_events_during_a_hang() -> None:
    with mock(seed=15, time_scale=0.05) as sim:
        client = anthropic.Anthropic(api_key=KEY).with_options(timeout=0.3, max_retries=0)
        sim.set_faults(FaultPlan.scripted([Fault("hang", after_events=5)]))
        texts: list[str] = []
        start = time.perf_counter()
        with (
            pytest.raises((sdk_http("anthropic").ReadTimeout, anthropic.APITimeoutError)),
            client.messages.stream(model=CLAUDE, max_tokens=50, messages=MESSAGES) as stream,
        ):
            for event in stream:
                if event.type == "text":
                    texts.append(event.text)
        elapsed = time.perf_counter() - start
    assert len(texts) == 2  # events 3 and 4 arrived, then the stream stalled
    assert 0.3 <= elapsed < 1.0
    record = sim.billing.records[-1]
    assert not record.complete and record.output_tokens == 2


def test_hang_without_a_timeout_would_wait_for_the_server() -> None:
    with mock(seed=16, time_scale=0.001) as sim:
        client = anthropic.Anthropic(api_key=KEY, max_retries=0)
        sim.set_faults(FaultPlan.scripted([Fault("hang", hang_seconds=200)]))  # 0.2 s real
        start = time.perf_counter()
        with pytest.raises(anthropic.APIConnectionError):
            client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
        assert time.perf_counter() - start >= 0.2
        assert sim.billing.records == []  # a hung request was never served


def test_slow_fault_stretches_decode() -> None:
    """The "slow" fault makes decode 5x slower and leaves TTFT alone: compare the decode parts
    only (after the first text delta), since a total-time ratio mixes in the TTFT (and with
    the ~2 s fixed TTFT of the calibration proposed in issue 18 would say little of decode)."""

    def decode_time(sim: Simulator) -> tuple[float, int]:
        with mock(sim):
            client = anthropic.Anthropic(api_key=KEY)
            with client.messages.stream(model=CLAUDE, max_tokens=40, messages=MESSAGES) as s:
                first = None
                for event in s:
                    if first is None and event.type == "content_block_delta":
                        first = time.perf_counter()
                end = time.perf_counter()
                usage = s.get_final_message().usage
            assert first is not None
            return end - first, usage.output_tokens

    decode_time(Simulator(seed=17, time_scale=0.001))  # warm up
    normal, n1 = decode_time(Simulator(seed=17, time_scale=0.05))
    slow, n2 = decode_time(Simulator(seed=17, time_scale=0.05, faults=FaultPlan.scripted(["slow"])))
    assert n1 == n2 and n1 >= 10
    assert slow > 2.5 * normal, (normal, slow)  # 5x expected; overhead and load only shrink it
