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


def test_a_stored_responses_conversation_bills_its_history_again() -> None:
    """Lab 00: previous_response_id sends only the new turn, yet the stored turn is billed."""
    system = "You are Northwind Cloud's on-call assistant. Be brief."
    follow_up = "And if that looks fine?"
    with mock(seed=0, time_scale=0.01):
        gpt = openai.OpenAI(api_key="test")
        first = gpt.responses.create(
            model="gpt-4.1-mini",
            instructions=system,
            input="Checkout returns 502s in eu-west. What should I check first?",
            max_output_tokens=60,
            store=True,
        )
        alone = gpt.responses.create(model="gpt-4.1-mini", input=follow_up, max_output_tokens=60)
        second = gpt.responses.create(
            model="gpt-4.1-mini",
            previous_response_id=first.id,
            input=follow_up,
            max_output_tokens=60,
        )
    assert first.usage is not None and second.usage is not None and alone.usage is not None
    # the history (first turn's input without its instructions, plus its answer) is billed again
    assert second.usage.input_tokens >= alone.usage.input_tokens + first.usage.output_tokens
