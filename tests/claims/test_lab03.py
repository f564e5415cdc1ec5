"""Measured claims of lab 03 (streaming), re-measured through the real SDKs on a simulator."""

from __future__ import annotations

import json
import statistics
import time

import anthropic
import openai
import pytest

import llmlab
import llmlab.sim
from llmlab.sim import Fault, FaultPlan

MODEL, OAI_MODEL = "claude-sonnet-4-6", "gpt-4.1-mini"
WALK = "Walk me through restarting the service safely: {report}"
PROMPT = [{"role": "user", "content": "Walk me through restarting the payments service safely."}]


def _anthropic_times(client: anthropic.Anthropic, text: str) -> tuple[float, float]:
    start, ttft = time.perf_counter(), None
    with client.messages.stream(
        model=MODEL, max_tokens=120, messages=[{"role": "user", "content": text}]
    ) as stream:
        for _ in stream.text_stream:
            ttft = ttft or time.perf_counter() - start
    assert ttft is not None
    return ttft, time.perf_counter() - start


def _openai_times(client: openai.OpenAI, text: str) -> tuple[float, float]:
    start, ttft = time.perf_counter(), None
    stream = client.chat.completions.create(
        model=OAI_MODEL,
        max_tokens=120,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": text}],
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            ttft = ttft or time.perf_counter() - start
    assert ttft is not None
    return ttft, time.perf_counter() - start


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_streaming_ttft_is_far_below_total(provider: str) -> None:
    """Notebook claim: median TTFT below 0.75 of the median total time (both providers)."""
    lines = (llmlab.data_dir() / "incident_reports.jsonl").read_text().splitlines()[:8]
    reports = [json.loads(line)["report"] for line in lines]
    with llmlab.sim.mock(seed=3, time_scale=0.05):
        if provider == "anthropic":
            a_client = anthropic.Anthropic(api_key="test")
            runs = [_anthropic_times(a_client, WALK.format(report=r)) for r in reports]
        else:
            o_client = openai.OpenAI(api_key="test")
            runs = [_openai_times(o_client, WALK.format(report=r)) for r in reports]
    ttft = statistics.median(t for t, _ in runs)
    total = statistics.median(t for _, t in runs)
    # the notebook prints the ratio against this claim; replies of ~30 tokens keep it near 0.5
    assert ttft / total < 0.75, (ttft, total)


def test_closing_a_stream_early_bills_fewer_tokens() -> None:
    """Notebook claim: closing after 5 text events bills fewer output tokens than a full reply."""
    with llmlab.sim.mock(seed=3, time_scale=0.05) as sim:
        client = anthropic.Anthropic(api_key="test")
        full = client.messages.create(model=MODEL, max_tokens=600, messages=PROMPT)
        received = []
        with client.messages.stream(
            model=MODEL, max_tokens=600, messages=PROMPT
        ) as stream:
            for text in stream.text_stream:
                received.append(text)
                if len(received) == 5:
                    break
            message_id = stream.current_message_snapshot.id
        bill = sim.billing.by_request()[message_id]
    assert not bill.complete
    assert bill.output_tokens < full.usage.output_tokens


def test_mid_stream_error_raises_and_keeps_partial_text() -> None:
    """Notebook claim: an SSE error event raises APIStatusError mid-iteration; partial text kept."""
    with llmlab.sim.mock(seed=3, time_scale=0.01) as sim:
        client = anthropic.Anthropic(api_key="test")
        full = client.messages.create(model=MODEL, max_tokens=60, messages=PROMPT)
        sim.set_faults(FaultPlan.scripted([Fault("stream_error", after_events=10)]))
        partial: list[str] = []
        with (
            pytest.raises(anthropic.APIStatusError) as info,
            client.messages.stream(
                model=MODEL, max_tokens=60, messages=PROMPT
            ) as stream,
        ):
            for text in stream.text_stream:
                partial.append(text)
    assert info.value.status_code == 200
    assert partial and full.content[0].type == "text"
    # what arrived before the error is kept: the SDK's snapshot holds exactly the pieces read
    snapshot = stream.current_message_snapshot.content[0]
    assert snapshot.type == "text" and snapshot.text == "".join(partial)
