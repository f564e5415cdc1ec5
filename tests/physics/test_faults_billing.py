"""Scripted faults give exactly the scheduled errors; billing is the truth learners reconcile."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import openai
import pytest
from anthropic._exceptions import OverloadedError  # not re-exported by anthropic 0.93

import llmlab
from llmlab.pricing import cost
from llmlab.sim import Fault, FaultPlan, Simulator, mock, sdk_http

from ._helpers import CLAUDE, GPT, KEY, anthropic_system, prefix

MESSAGES = [{"role": "user", "content": "Summarise the database outage in detail."}]


def test_scripted_plan_gives_exactly_the_scheduled_errors() -> None:
    with mock(seed=31, time_scale=0.001, faults=FaultPlan.scripted(["500"] * 6)) as sim:
        client = anthropic.Anthropic(api_key=KEY, max_retries=0)
        outcomes = []
        for _ in range(8):
            try:
                client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
                outcomes.append("ok")
            except anthropic.InternalServerError as exc:
                assert exc.status_code == 500
                outcomes.append("500")
        assert outcomes == ["500"] * 6 + ["ok"] * 2
        assert sim.upstream_calls == 2  # served generations; the errors are counted apart
        assert sim.summary().errors == {"500 api_error": 6}
        assert sim.faults.pending == 0


def test_sdk_retries_consume_scripted_faults() -> None:
    with mock(seed=32, time_scale=0.001, faults=FaultPlan.scripted(["529", "503"])) as sim:
        log: list[Any] = []
        client = anthropic.Anthropic(
            api_key=KEY,
            max_retries=2,
            http_client=sdk_http("anthropic").Client(event_hooks={"response": [log.append]}),
        )
        client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
        assert [r.status_code for r in log] == [529, 503, 200]
        assert sim.upstream_calls == 1


def test_fault_kinds_map_to_the_sdk_exceptions() -> None:
    with mock(seed=33, time_scale=0.001) as sim:
        claude = anthropic.Anthropic(api_key=KEY, max_retries=0)
        gpt = openai.OpenAI(api_key=KEY, max_retries=0)
        sim.set_faults(FaultPlan.scripted(["529"]))
        with pytest.raises(OverloadedError):
            claude.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
        sim.set_faults(FaultPlan.scripted(["quota"]))
        with pytest.raises(openai.RateLimitError) as info:
            gpt.chat.completions.create(model=GPT, max_tokens=5, messages=MESSAGES)
        assert info.value.code == "insufficient_quota"
        sim.set_faults(FaultPlan.scripted([Fault("cut", after_events=5)]))
        with (
            pytest.raises((anthropic.APIConnectionError, sdk_http("anthropic").TransportError)),
            claude.messages.stream(model=CLAUDE, max_tokens=50, messages=MESSAGES) as stream,
        ):
            for _ in stream:
                pass
        sim.set_faults(FaultPlan.scripted([Fault("stream_error", after_events=5)]))
        with (
            pytest.raises(anthropic.APIStatusError, match="overloaded_error"),
            claude.messages.stream(model=CLAUDE, max_tokens=50, messages=MESSAGES) as stream,
        ):
            for _ in stream:
                pass
        sim.set_faults(FaultPlan.scripted(["cut"]))  # non-streaming: the body never arrives
        with pytest.raises(anthropic.APIConnectionError):
            claude.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
        # the cut and error-event streams stopped after two text tokens; the non-streaming
        # reply was generated in full before the connection dropped
        cut, errored, dropped = sim.billing.records[-3:]
        assert (cut.output_tokens, cut.complete) == (2, False)
        assert (errored.output_tokens, errored.complete) == (2, False)
        assert not dropped.complete and dropped.output_tokens == 5


def test_random_plan_is_seeded() -> None:
    def run() -> list[str]:
        plan = FaultPlan.random({"500": 0.3, "529": 0.2})
        with mock(seed=34, time_scale=0.001, faults=plan):
            client = anthropic.Anthropic(api_key=KEY, max_retries=0)
            out = []
            for i in range(12):
                try:
                    client.messages.create(
                        model=CLAUDE,
                        max_tokens=2,
                        messages=[{"role": "user", "content": f"q{i}"}],
                    )
                    out.append("ok")
                except anthropic.APIStatusError as exc:
                    out.append(str(exc.status_code))
            return out

    first = run()
    assert first == run()
    assert {"ok", "500", "529"} <= set(first)


def _stream_usage(client: anthropic.Anthropic, stop_after: int | None) -> str:
    with client.messages.stream(model=CLAUDE, max_tokens=200, messages=MESSAGES) as stream:
        seen = 0
        for event in stream:
            if event.type == "text":
                seen += 1
                if stop_after is not None and seen >= stop_after:
                    break
        return stream.current_message_snapshot.id


def test_early_closed_stream_is_billed_for_fewer_output_tokens() -> None:
    with mock(Simulator(seed=43, time_scale=0.2)) as sim:  # 4 ms per output token
        full_id = _stream_usage(anthropic.Anthropic(api_key=KEY), None)
    with mock(Simulator(seed=43, time_scale=0.2)) as early_sim:  # same seed: same reply
        early_id = _stream_usage(anthropic.Anthropic(api_key=KEY), 3)
    full = sim.billing.by_request()[full_id]
    early = early_sim.billing.by_request()[early_id]
    assert full.complete and full.output_tokens >= 20
    assert not early.complete
    assert 3 <= early.output_tokens < full.output_tokens / 2
    assert early.input_tokens == full.input_tokens  # input is billed either way
    assert early.cost_usd < full.cost_usd


def test_completed_call_billing_equals_usage_and_price() -> None:
    text = prefix(2_000)
    with mock(seed=36, time_scale=0.001) as sim:
        client = anthropic.Anthropic(api_key=KEY)
        replies = [
            client.messages.create(
                model=CLAUDE, max_tokens=20, system=anthropic_system(text, ttl), messages=MESSAGES
            )
            for ttl in ("1h", "1h", None)
        ]
        gpt = openai.OpenAI(api_key=KEY).chat.completions.create(
            model=GPT, max_tokens=20, messages=[{"role": "user", "content": text}]
        )
    records = sim.billing.by_request()
    for reply in replies:
        u = reply.usage
        r = records[reply.id]
        assert r.complete
        assert (r.input_tokens, r.output_tokens, r.cache_read_tokens) == (
            u.input_tokens,
            u.output_tokens,
            u.cache_read_input_tokens,
        )
        assert r.cache_write_5m_tokens + r.cache_write_1h_tokens == u.cache_creation_input_tokens
        assert r.cache_write_1h_tokens == u.cache_creation.ephemeral_1h_input_tokens  # type: ignore[union-attr]
        want = cost(
            CLAUDE,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_write_tokens=u.cache_creation_input_tokens or 0,
            cache_write_1h_tokens=r.cache_write_1h_tokens,
            cache_read_tokens=u.cache_read_input_tokens or 0,
        ).total_usd
        assert r.cost_usd == pytest.approx(float(want))
    g = records[gpt.id]
    assert gpt.usage is not None
    assert g.input_tokens + g.cache_read_tokens == gpt.usage.prompt_tokens
    assert g.output_tokens == gpt.usage.completion_tokens
    assert sim.billing.total_usd == pytest.approx(sum(r.cost_usd for r in records.values()))


def test_non_streaming_call_cut_by_a_timeout_is_still_billed_in_full() -> None:
    with mock(seed=37, time_scale=0.05) as sim:
        client = anthropic.Anthropic(api_key=KEY)
        client.messages.create(model=CLAUDE, max_tokens=1, messages=MESSAGES)  # warm up
        with pytest.raises(anthropic.APITimeoutError):
            client.with_options(timeout=0.02, max_retries=0).messages.create(
                model=CLAUDE, max_tokens=100, messages=MESSAGES
            )
        time.sleep(0.05)
    record = sim.billing.records[-1]
    assert not record.complete and record.output_tokens > 10  # the server finished anyway


def test_summary_reports_calls_cache_errors_and_billing() -> None:
    text = prefix(2_000)
    with mock(seed=38, time_scale=0.001, faults=FaultPlan.scripted(["500"])) as sim:
        client = anthropic.Anthropic(api_key=KEY, max_retries=0)
        with pytest.raises(anthropic.InternalServerError):
            client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
        for _ in range(2):
            client.messages.create(
                model=CLAUDE, max_tokens=5, system=anthropic_system(text), messages=MESSAGES
            )
        summary = sim.summary()
    total_input = sum(
        r.input_tokens + r.cache_read_tokens + r.cache_write_5m_tokens + r.cache_write_1h_tokens
        for r in sim.billing.records
    )
    assert summary.calls == {"anthropic": 2}
    assert summary.errors == {"500 api_error": 1}
    assert summary.cache_hit_rate == pytest.approx(2_000 / total_input)
    assert summary.billed_usd == pytest.approx(sim.billing.total_usd) and summary.billed_usd > 0
    assert summary.billed_requests == 2
    assert "cache hit rate 50%" in str(summary) and "500 api_error: 1" in str(summary)
    assert "cache hit rate" in summary._repr_html_()


def test_a_provider_plan_is_an_outage_of_that_provider_only() -> None:
    with mock(seed=39, time_scale=0.001) as sim:
        claude = anthropic.Anthropic(api_key=KEY, max_retries=0)
        gpt = openai.OpenAI(api_key=KEY, max_retries=0)
        sim.set_faults(FaultPlan.random({"529": 1.0}), provider="anthropic")
        for _ in range(3):
            with pytest.raises(OverloadedError):
                claude.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
            gpt.chat.completions.create(model=GPT, max_tokens=5, messages=MESSAGES)
        sim.set_faults(None, provider="anthropic")  # the outage ends
        claude.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
        assert sim.summary().errors == {"529 overloaded_error": 3}
        with pytest.raises(llmlab.SimulatorError, match="provider must be"):
            sim.set_faults(None, provider="gemini")
