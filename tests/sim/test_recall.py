"""The simulator recalls a stated fact only while it is in the request (sim/model/_recall.py)."""

from __future__ import annotations

from typing import Any

import openai
import pytest

import llmlab.sim

FACTS = [
    {"role": "user", "content": "Hi! My name is Priya Raman and I run payments on-call."},
    {"role": "assistant", "content": "Hello."},
    {"role": "user", "content": "Our incident ticket is INC-48213, opened at 09:12."},
    {"role": "assistant", "content": "Noted."},
    {"role": "user", "content": "My pager number: 555-0142. The freeze date is 2026-12-14."},
    {"role": "assistant", "content": "OK."},
]
FILLER = [
    {"role": "user", "content": "Status of db-7?"},
    {"role": "assistant", "content": "Healthy."},
]


def _ask(client: openai.OpenAI, history: list[dict[str, Any]], question: str) -> str:
    reply = client.chat.completions.create(
        model="gpt-4.1-mini",
        max_tokens=80,
        messages=[*history, {"role": "user", "content": question}],  # type: ignore[list-item]
    )
    return str(reply.choices[0].message.content)


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("What is my name?", "Priya Raman"),
        ("Remind me of our incident ticket.", "INC-48213"),
        ("What was our ticket?", "INC-48213"),
        ("What's my pager number?", "555-0142"),
        ("Do you remember our freeze date?", "2026-12-14"),
    ],
)
def test_a_fact_in_context_is_recalled(question: str, value: str) -> None:
    with llmlab.sim.mock(seed=11, time_scale=0.01):
        client = openai.OpenAI(api_key="sk-test")
        assert value in _ask(client, [*FACTS, *FILLER], question)


def test_a_fact_out_of_context_is_never_recalled() -> None:
    with llmlab.sim.mock(seed=11, time_scale=0.01):
        client = openai.OpenAI(api_key="sk-test")
        answers = [_ask(client, FILLER * 3, "What's my pager number?") for _ in range(20)]
    assert not any("555-0142" in a for a in answers)
    honest = sum("don't have your pager number" in a for a in answers)
    assert 8 <= honest < 20, answers  # mostly honest, sometimes a confident wrong guess


def test_the_latest_statement_wins() -> None:
    corrected = [*FACTS, {"role": "user", "content": "Correction: my pager number is 555-0199."}]
    with llmlab.sim.mock(seed=11, time_scale=0.01):
        client = openai.OpenAI(api_key="sk-test")
        assert "555-0199" in _ask(client, [*corrected, *FILLER], "What is my pager number?")


def test_a_summary_keeps_stated_facts_and_is_recallable() -> None:
    with llmlab.sim.mock(seed=11, time_scale=0.01):
        client = openai.OpenAI(api_key="sk-test")
        summaries = [
            _ask(client, FACTS, "Summarise the conversation so far, keeping the facts.")
            for _ in range(10)
        ]
        kept = [s for s in summaries if "INC-48213" in s]
        assert 5 <= len(kept) <= 10, summaries  # lossy, mostly kept
        carried = [{"role": "user", "content": kept[0]}, {"role": "assistant", "content": "OK."}]
        assert "INC-48213" in _ask(client, [*carried, *FILLER], "What is our incident ticket?")


def test_other_questions_are_left_to_the_language_model() -> None:
    with llmlab.sim.mock(seed=11, time_scale=0.01):
        client = openai.OpenAI(api_key="sk-test")
        answer = _ask(client, FACTS, "What is the status of the payments service?")
    assert "don't have" not in answer and "Summary" not in answer
