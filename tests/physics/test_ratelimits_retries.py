"""Rate limits: 429s with retry-after, true remaining counts in headers, SDK retries honour them."""

from __future__ import annotations

import time
from typing import Any, Literal

import anthropic
import openai
import pytest

from llmlab.sim import FaultPlan, RateLimits, SimClock, Simulator, mock, sdk_http

from ._helpers import CLAUDE, GPT, KEY

MESSAGES = [{"role": "user", "content": "Summarise the database outage."}]


def test_anthropic_over_the_limit_gives_429_with_retry_after_and_true_remaining() -> None:
    # a manual clock: buckets refill only when the test advances it
    sim = Simulator(seed=21, clock=SimClock.manual(0.01), rate_limits=RateLimits(3, 100_000))
    with mock(sim):
        client = anthropic.Anthropic(api_key=KEY, max_retries=0)
        remaining = []
        for _ in range(3):
            raw = client.messages.with_raw_response.create(
                model=CLAUDE, max_tokens=5, messages=MESSAGES
            )
            assert raw.headers["anthropic-ratelimit-requests-limit"] == "3"
            assert raw.headers["anthropic-ratelimit-input-tokens-limit"] == "100000"
            assert "anthropic-ratelimit-requests-reset" in raw.headers
            remaining.append(int(raw.headers["anthropic-ratelimit-requests-remaining"]))
        assert remaining == [2, 1, 0]
        with pytest.raises(anthropic.RateLimitError) as info:
            client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
        headers = info.value.response.headers
        # one request refills in 20 simulated seconds = 0.2 real seconds at time scale 0.01
        assert headers["retry-after-ms"] == "200"
        assert headers["retry-after"] == "1"
        assert info.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
        sim.advance(seconds=20)
        client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)


def test_openai_headers_carry_true_remaining_counts() -> None:
    sim = Simulator(seed=22, clock=SimClock.manual(0.01), rate_limits=RateLimits(5, 50_000))
    with mock(sim):
        client = openai.OpenAI(api_key=KEY, max_retries=0)
        seen = []
        for _ in range(5):
            raw = client.chat.completions.with_raw_response.create(
                model=GPT, max_tokens=5, messages=MESSAGES
            )
            prompt = raw.parse().usage.prompt_tokens  # type: ignore[union-attr]
            seen.append(
                (
                    int(raw.headers["x-ratelimit-remaining-requests"]),
                    int(raw.headers["x-ratelimit-remaining-tokens"]),
                )
            )
            assert raw.headers["x-ratelimit-limit-requests"] == "5"
            assert "x-ratelimit-reset-requests" in raw.headers
        assert [r for r, _ in seen] == [4, 3, 2, 1, 0]
        assert [t for _, t in seen] == [50_000 - prompt * (i + 1) for i in range(5)]
        with pytest.raises(openai.RateLimitError) as info:
            client.chat.completions.create(model=GPT, max_tokens=5, messages=MESSAGES)
        assert info.value.code == "rate_limit_exceeded"
        assert float(info.value.response.headers["retry-after-ms"]) > 0


def _attempt_log(log: list[Any], provider: Literal["anthropic", "openai"] = "anthropic") -> Any:
    """An SDK http_client (of the SDK's own httpx generation) that logs every response."""
    return sdk_http(provider).Client(event_hooks={"response": [log.append]})


def test_sdk_retries_honour_retry_after_from_a_scripted_429() -> None:
    # a scripted 429 says "retry after 1 simulated second" = 50 ms real at time scale 0.05; the
    # SDK's own backoff for a first retry would be 0.375-0.5 s
    with mock(seed=23, time_scale=0.05) as sim:
        log: list[Any] = []
        client = anthropic.Anthropic(api_key=KEY, max_retries=2, http_client=_attempt_log(log))
        client.messages.create(model=CLAUDE, max_tokens=1, messages=MESSAGES)  # warm up
        log.clear()
        sim.set_faults(FaultPlan.scripted(["429"]))
        start = time.perf_counter()
        client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
        elapsed = time.perf_counter() - start
    assert [r.status_code for r in log] == [429, 200]
    wait = float(log[0].headers["retry-after-ms"]) / 1000
    assert wait == pytest.approx(0.05)
    assert wait <= elapsed < 0.35, elapsed


def test_sdk_retries_wait_out_a_real_rate_limit() -> None:
    # 1 request per minute at time scale 0.002: a refill takes 60 simulated s = 120 ms real
    with mock(seed=24, time_scale=0.002, rate_limits=RateLimits(requests_per_minute=1)):
        log: list[Any] = []
        client = openai.OpenAI(api_key=KEY, max_retries=2, http_client=_attempt_log(log, "openai"))
        client.chat.completions.create(model=GPT, max_tokens=1, messages=MESSAGES)  # warm up
        client.chat.completions.create(model=GPT, max_tokens=1, messages=MESSAGES)  # empties it
        log.clear()
        start = time.perf_counter()
        client.chat.completions.create(model=GPT, max_tokens=5, messages=MESSAGES)
        elapsed = time.perf_counter() - start
    statuses = [r.status_code for r in log]
    assert statuses[0] == 429 and statuses[-1] == 200, statuses
    waited = sum(float(r.headers["retry-after-ms"]) / 1000 for r in log if r.status_code == 429)
    assert 0 < waited <= 0.125
    assert waited <= elapsed < 0.35, (elapsed, statuses)
