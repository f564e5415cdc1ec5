"""Claims of notebook 00: both SDKs answer through the simulator with real usage accounting,
and an Anthropic prefill is continued (the reply does not repeat it)."""

from __future__ import annotations

import anthropic
import openai

from llmlab.sim import mock

QUESTION = [{"role": "user", "content": "Summarise the checkout outage in one sentence."}]


def test_first_calls_report_usage() -> None:
    with mock(seed=0, time_scale=0.01):
        msg = anthropic.Anthropic(api_key="test").messages.create(
            model="claude-sonnet-4-6", max_tokens=40, messages=QUESTION
        )
        resp = openai.OpenAI(api_key="test").chat.completions.create(
            model="gpt-4.1-mini", max_tokens=40, messages=QUESTION
        )
    assert msg.content[0].type == "text" and msg.content[0].text
    assert msg.usage.input_tokens > 0 and 0 < msg.usage.output_tokens <= 40
    assert resp.choices[0].message.content
    assert resp.usage is not None
    assert resp.usage.prompt_tokens > 0 and 0 < resp.usage.completion_tokens <= 40
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_system_placement_and_prefill() -> None:
    prefill = "First, check"
    with mock(seed=0, time_scale=0.01):
        client = anthropic.Anthropic(api_key="test")
        msg = client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=60,
            system="You are Northwind Cloud's on-call assistant. Be brief.",
            messages=[
                {"role": "user", "content": [{"type": "text", "text": "502s in eu-west?"}]},
                {"role": "assistant", "content": prefill},
            ],
        )
        resp = openai.OpenAI(api_key="test").chat.completions.create(
            model="gpt-4.1-mini",
            max_tokens=20,
            messages=[
                {"role": "system", "content": "You are Northwind Cloud's on-call assistant."},
                {"role": "user", "content": "502s in eu-west?"},
            ],
        )
    assert msg.content[0].type == "text"
    assert not msg.content[0].text.startswith(prefill)
    assert resp.choices[0].message.role == "assistant"
