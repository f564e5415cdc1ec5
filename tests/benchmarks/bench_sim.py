"""Benchmark: what the simulator adds per SDK call, and how fast it streams.

Run: ``.venv/bin/python tests/benchmarks/bench_sim.py [--calls 200]`` (not collected by pytest:
the file name does not match ``test_*.py``). The time scale is 1e-6, so simulated latency
(TTFT, per-token decode) vanishes and what remains is the simulator's own CPU cost: request
parsing and validation, token counting, sampling from the n-gram model, JSON/SSE encoding.
The baseline is the same SDK call answered by a bare respx route returning a canned body.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import openai
import respx

import llmlab.sim

MODEL_A = "claude-sonnet-4-6"
MODEL_O = "gpt-4.1-mini"
MESSAGES: list[Any] = [
    {"role": "user", "content": "Summarise the checkout incident runbook in a sentence."}
]
MAX_TOKENS = 30

CANNED_A = {
    "id": "msg_01canned",
    "type": "message",
    "role": "assistant",
    "model": MODEL_A,
    "content": [{"type": "text", "text": "The checkout service recovered after a failover."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 20,
        "output_tokens": 10,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    },
}
CANNED_O = {
    "id": "chatcmpl-canned",
    "object": "chat.completion",
    "created": 1_763_900_000,
    "model": MODEL_O,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "The checkout service recovered."},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26},
}


def _median_ms(fn: Callable[[], object], calls: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _create_a(client: anthropic.Anthropic) -> Callable[[], object]:
    return lambda: client.messages.create(
        model=MODEL_A, max_tokens=MAX_TOKENS, messages=MESSAGES, temperature=1
    )


def _create_o(client: openai.OpenAI) -> Callable[[], object]:
    return lambda: client.chat.completions.create(
        model=MODEL_O, max_tokens=MAX_TOKENS, messages=MESSAGES, temperature=1
    )


def per_call(calls: int) -> None:
    a = anthropic.Anthropic(api_key="test", max_retries=0)
    o = openai.OpenAI(api_key="test", max_retries=0)
    with respx.mock(assert_all_called=False) as router:
        router.post("https://api.anthropic.com/v1/messages").mock(
            return_value=httpx.Response(200, json=CANNED_A)
        )
        router.post("https://api.openai.com/v1/chat/completions").mock(
            return_value=httpx.Response(200, json=CANNED_O)
        )
        bare_a = _median_ms(_create_a(a), calls)
        bare_o = _median_ms(_create_o(o), calls)
    with llmlab.sim.mock(seed=0, time_scale=1e-6):
        sim_a = _median_ms(_create_a(a), calls)
        sim_o = _median_ms(_create_o(o), calls)
    print(f"per-call medians over {calls} calls (max_tokens={MAX_TOKENS}, time_scale=1e-6)")
    for name, bare, simulated in (
        ("anthropic messages.create", bare_a, sim_a),
        ("openai chat.completions.create", bare_o, sim_o),
    ):
        print(
            f"  {name:32s} bare respx {bare:6.2f} ms | simulator {simulated:6.2f} ms | "
            f"added {simulated - bare:6.2f} ms | ratio {simulated / bare:5.1f}x"
        )


def streaming(calls: int) -> None:
    a = anthropic.Anthropic(api_key="test", max_retries=0)
    o = openai.OpenAI(api_key="test", max_retries=0)
    counts: list[int] = []
    seconds: list[float] = []

    def stream_a() -> None:
        start = time.perf_counter()
        with a.messages.stream(model=MODEL_A, max_tokens=200, messages=MESSAGES) as s:
            n = sum(1 for _ in s)
        seconds.append(time.perf_counter() - start)
        counts.append(n)

    def stream_o() -> None:
        start = time.perf_counter()
        chunks = o.chat.completions.create(
            model=MODEL_O,
            max_tokens=200,
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        n = sum(1 for _ in chunks)
        seconds.append(time.perf_counter() - start)
        counts.append(n)

    print(f"streaming (max_tokens=200, median over {calls} streams)")
    with llmlab.sim.mock(seed=0, time_scale=1e-6):
        for name, fn in (
            ("anthropic messages.stream", stream_a),
            ("openai chat stream", stream_o),
        ):
            for _ in range(5):
                fn()
            counts.clear()
            seconds.clear()
            for _ in range(calls):
                fn()
            rates = [c / s for c, s in zip(counts, seconds, strict=True)]
            print(
                f"  {name:32s} {statistics.median(counts):5.0f} events/stream | "
                f"{statistics.median(seconds) * 1000:6.2f} ms/stream | "
                f"{statistics.median(rates):8.0f} events/s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    per_call(args.calls)
    streaming(args.calls)
    print(json.dumps({"note": "medians; run on an otherwise idle machine for stable figures"}))


if __name__ == "__main__":
    main()
