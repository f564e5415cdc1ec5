"""The simulated model answers like a model: measured through both real SDKs on a prompt set.

Figures (issue 17): at most 5 % of replies loop, at least 90 % are on topic, at least 90 % of
sentences are well-formed, at least 90 % of forced tool calls carry the value the prompt names.
Metrics are in ``llmlab.sim.quality`` and read only the reply text. Replies are sampled at each
provider's default (temperature 1: the current Anthropic API refuses temperature) with several
seeds. The set below is deliberately broad (questions about incidents, services, runbooks,
general engineering, summaries / extraction / triage requests, out-of-corpus questions).
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import numpy as np
import openai
import pytest

from llmlab.sim import Simulator, mock
from llmlab.sim.quality import cycles, on_topic, sentence_problem, sentences

PROMPTS = [
    "What should I do first when the checkout error rate alert fires?",
    "How do I roll back a bad deploy?",
    "Who owns the payments service?",
    "Explain what an incident commander does.",
    "Why should every network call have a timeout?",
    "What is the difference between a sev1 and a sev2?",
    "How often should we post status page updates during an outage?",
    "Is a slow search service an outage?",
    "Describe the runbook for the auth service.",
    "What causes most checkout incidents?",
    "How do retries make an overloaded service worse?",
    "What is exponential backoff with jitter?",
    "When should I escalate to the service owner?",
    "Write a status update about the payments outage.",
    "What does a good postmortem contain?",
    "How should I hand over an incident at the end of my shift?",
    "What is a circuit breaker and when does it open?",
    "How do rate limits protect the api-gateway?",
    "Give me three tips for reducing database connection pool exhaustion.",
    "What is the capital of France?",
    "Can you recommend a good sorting algorithm for nearly sorted data?",
    "How do I write a unit test in Python?",
    "What is caching and why does it help latency?",
    "Tell me about notifications being delayed.",
    "Summarise the checkout outage in one sentence.",
    "Summarise this report: Checkout latency rose to thirty seconds at 14:02 after a deploy. "
    "Engineers rolled back the deploy at 14:20 and the error rate returned to normal.",
    "Extract the service and the time from this alert: The inventory service stopped "
    "reserving stock at 09:15 in eu-west.",
    "Triage this incident. Reply with a severity.\n\nCheckout is down for every customer; "
    "payments fail.",
    "Triage this report: a typo on the invoice footer, no customer impact.",
    "Walk me through restarting the payments service safely.",
    "Should I retry a payment capture that timed out?",
    "What metrics should a dashboard for the search service show?",
    "What happens when the disk fills up on a database replica?",
    "Is it okay to raise the payments timeout during an incident?",
    "hello",
    "What are the steps of incident response?",
    "How can we prevent the same incident from happening again?",
    "Explain idempotency keys in one sentence.",
    "What should a customer-facing status update avoid saying?",
    "Who should I page when login fails for all customers?",
]

_S = {"type": "string"}
TOOL_CASES: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("get_weather", {"city": _S}, "What's the weather in Lisbon right now?", {"city": "Lisbon"}),
    (
        "get_weather",
        {"city": _S, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "I'm visiting Chicago tomorrow; tell me the weather in fahrenheit.",
        {"city": "Chicago", "unit": "fahrenheit"},
    ),
    (
        "lookup_order",
        {"order_id": _S},
        "Where is my order ORD-88231? It hasn't arrived.",
        {"order_id": "ORD-88231"},
    ),
    (
        "lookup_order",
        {"order_id": _S},
        "Please check the status of order 774120.",
        {"order_id": "774120"},
    ),
    (
        "book_meeting",
        {"person": _S, "day": _S, "time": _S},
        "Set up a meeting with Marcus Lee on Friday at 10:30 to discuss the rollout.",
        {"person": "Marcus Lee", "day": "Friday", "time": "10:30"},
    ),
    (
        "book_meeting",
        {"person": _S, "day": _S, "time": _S},
        "Can you book time with Aiko on Monday at 2pm?",
        {"person": "Aiko", "day": "Monday", "time": "2pm"},
    ),
    (
        "convert",
        {"amount": {"type": "number"}, "from_currency": _S, "to_currency": _S},
        "Convert 120 euros to USD.",
        {"amount": 120, "from_currency": "EUR", "to_currency": "USD"},
    ),
    (
        "convert",
        {"amount": {"type": "number"}, "currency": _S},
        "What is 45.5 in JPY?",
        {"amount": 45.5, "currency": "JPY"},
    ),
    (
        "get_service_status",
        {"service": {"type": "string", "enum": ["checkout", "payments", "auth", "search"]}},
        "Is search healthy at the moment?",
        {"service": "search"},
    ),
    (
        "get_incident",
        {"incident_id": _S},
        "Pull up incident INC-2041 for me.",
        {"incident_id": "INC-2041"},
    ),
    (
        "send_email",
        {"to": _S, "subject": _S},
        'Email dana@example.com with the subject "Postmortem draft".',
        {"to": "dana@example.com", "subject": "Postmortem draft"},
    ),
    (
        "set_reminder",
        {"minutes": {"type": "integer"}},
        "Remind me in 15 minutes to check the dashboard.",
        {"minutes": 15},
    ),
]
_N = {"type": "number"}
TOOL_CASES += [
    ("add", {"a": _N, "b": _N}, "Add 17 and 25.", {"a": 17, "b": 25}),
    (
        "search_flights",
        {"origin": _S, "destination": _S, "date": _S},
        "Find flights from Berlin to Madrid on Friday.",
        {"origin": "Berlin", "destination": "Madrid", "date": "Friday"},
    ),
    (
        "get_stock_price",
        {"ticker": _S},
        "What's the stock price of MSFT today?",
        {"ticker": "MSFT"},
    ),
    ("get_user", {"user_id": _S}, "Look up user u-48213 please.", {"user_id": "u-48213"}),
    (
        "convert",
        {"amount": _N, "from_currency": _S, "to_currency": _S},
        "How many yen is 40 pounds?",
        {"amount": 40, "from_currency": "GBP", "to_currency": "JPY"},
    ),
]
SEEDS = (1, 2, 3)


def _anthropic_reply(sim: Simulator, prompt: str, seed: int) -> str:
    with mock(sim):
        client = anthropic.Anthropic(api_key="sk-ant-test")
        msg = client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=200,
            messages=[{"role": "user", "content": prompt}],
        )
    return "".join(b.text for b in msg.content if b.type == "text")


def _openai_reply(sim: Simulator, prompt: str, temperature: float | None = None) -> str:
    with mock(sim):
        client = openai.OpenAI(api_key="sk-test")
        extra = {} if temperature is None else {"temperature": temperature}
        r = client.chat.completions.create(
            model="gpt-4.1-mini",
            max_tokens=200,
            messages=[{"role": "user", "content": prompt}],
            **extra,
        )
    return r.choices[0].message.content or ""


def _replies() -> list[tuple[str, str]]:
    out = []
    for seed in SEEDS:
        sim = Simulator(seed=seed, time_scale=1e-6)
        for p in PROMPTS:
            out.append((p, _anthropic_reply(sim, p, seed)))
            out.append((p, _openai_reply(sim, p)))
    return out


@pytest.fixture(scope="module")
def replies() -> list[tuple[str, str]]:
    return _replies()


def test_few_replies_loop(replies: list[tuple[str, str]]) -> None:
    looping = [r for _, r in replies if cycles(r)]
    rate = len(looping) / len(replies)
    print(f"[loop rate={rate:.3f}] (claim: at most 0.05)")
    assert rate <= 0.05, looping[:3]


def test_replies_are_on_topic(replies: list[tuple[str, str]]) -> None:
    off = [(p, r) for p, r in replies if not on_topic(p, r)]
    rate = 1 - len(off) / len(replies)
    print(f"[on-topic rate={rate:.3f}] (claim: at least 0.90)")
    assert rate >= 0.90, off[:3]


def test_sentences_are_well_formed(replies: list[tuple[str, str]]) -> None:
    problems = [
        (s, why)
        for p, r in replies
        for s in sentences(r)
        if (why := sentence_problem(s, p)) is not None
    ]
    total = sum(len(sentences(r)) for _, r in replies)
    rate = 1 - len(problems) / total
    print(f"[well-formed rate={rate:.3f} of {total} sentences] (claim: at least 0.90)")
    assert rate >= 0.90, problems[:5]


def _tool_args(
    sim: Simulator, provider: str, name: str, props: dict[str, Any], prompt: str
) -> dict[str, Any]:
    schema = {"type": "object", "properties": props, "required": list(props)}
    with mock(sim):
        if provider == "anthropic":
            msg = anthropic.Anthropic(api_key="sk-ant-test").messages.create(
                model="claude-sonnet-4-6",
                max_tokens=300,
                messages=[{"role": "user", "content": prompt}],
                tools=[
                    {"name": name, "description": name.replace("_", " "), "input_schema": schema}
                ],
                tool_choice={"type": "tool", "name": name},
            )
            return next(b.input for b in msg.content if b.type == "tool_use")
        r = openai.OpenAI(api_key="sk-test").chat.completions.create(
            model="gpt-4.1-mini",
            messages=[{"role": "user", "content": prompt}],
            tools=[{"type": "function", "function": {"name": name, "parameters": schema}}],
            tool_choice={"type": "function", "function": {"name": name}},
        )
    calls = r.choices[0].message.tool_calls or []
    return dict(json.loads(calls[0].function.arguments))


def test_forced_tool_calls_carry_the_named_values() -> None:
    results = []
    for seed in SEEDS:
        sim = Simulator(seed=seed, time_scale=1e-6)
        for provider in ("anthropic", "openai"):
            for name, props, prompt, want in TOOL_CASES:
                got = _tool_args(sim, provider, name, props, prompt)
                ok = all(got.get(k) == v for k, v in want.items())
                results.append((ok, name, got, want))
    rate = sum(ok for ok, *_ in results) / len(results)
    print(f"[named-value rate={rate:.3f} of {len(results)} forced calls] (claim: at least 0.90)")
    assert rate >= 0.90, [r for r in results if not r[0]][:3]


def test_a_fact_is_recalled_only_while_in_context() -> None:
    fact = "The incident commander for this outage is Dana Reyes."
    history = [
        {"role": "user", "content": f"Noted for later. {fact}"},
        {"role": "assistant", "content": "Understood, I will keep that in mind."},
    ]
    ask = {"role": "user", "content": "What is the incident commander's name?"}
    sim = Simulator(seed=5, time_scale=1e-6)
    with mock(sim):
        client = openai.OpenAI(api_key="sk-test")
        kept = client.chat.completions.create(
            model="gpt-4.1-mini", messages=[*history, ask], temperature=0
        )
        cut = client.chat.completions.create(model="gpt-4.1-mini", messages=[ask], temperature=0)
    assert "Dana Reyes" in (kept.choices[0].message.content or "")
    assert "Dana Reyes" not in (cut.choices[0].message.content or "")


def test_an_order_id_given_earlier_is_recalled_or_admitted_missing() -> None:
    sim = Simulator(seed=6, time_scale=1e-6)
    ask = {"role": "user", "content": "What was the order id I gave you?"}
    with mock(sim):
        client = anthropic.Anthropic(api_key="sk-ant-test")
        kept = client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=100,
            messages=[
                {"role": "user", "content": "My order id is ORD-5521 and it is late."},
                {"role": "assistant", "content": "Sorry to hear that. I can look into it."},
                ask,
            ],
        )
        cut = client.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=[ask])
    assert "ORD-5521" in kept.content[0].text
    assert "don't have" in cut.content[0].text and "ORD-5521" not in cut.content[0].text


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("Do you remember my order id?", "your order id"),
        ("Can you tell me the incident commander's name I mentioned?", "the incident commander"),
    ],
)
def test_a_missing_fact_is_named_as_the_user_asked_for_it(question: str, names: str) -> None:
    with mock(Simulator(seed=6, time_scale=1e-6)):
        reply = anthropic.Anthropic(api_key="sk-ant-test").messages.create(
            model="claude-sonnet-4-6",
            max_tokens=60,
            messages=[{"role": "user", "content": question}],
        )
    text = reply.content[0].text
    assert f"I don't have {names}" in text, text


def test_a_yes_no_question_is_restated_without_a_capital_mid_sentence() -> None:
    question = "Is it safe to cache LLM responses? When is it not?"
    with mock(Simulator(seed=3, time_scale=1e-6)):
        reply = openai.OpenAI(api_key="sk-test").chat.completions.create(
            model="gpt-4.1-mini",
            max_tokens=80,
            temperature=0,
            messages=[{"role": "user", "content": question}],
        )
    text = reply.choices[0].message.content or ""
    assert "about Is " not in text and "whether it is safe to cache LLM responses" in text, text


def test_temperature_derails_a_coherent_answer() -> None:
    """Coherence (share of well-formed sentences) falls as temperature rises (lab 01's plot)."""
    prompt = "How do I roll back a bad deploy?"
    score = {}
    for t in (0.0, 1.0, 2.0):
        shares = []
        for seed in range(8):
            sim = Simulator(seed=seed, time_scale=1e-6)
            reply = _openai_reply(sim, prompt, t)
            parts = sentences(reply)
            shares.append(sum(sentence_problem(s, prompt) is None for s in parts) / len(parts))
        score[t] = float(np.mean(shares))
    print(f"[coherence T=0 {score[0.0]:.2f}, T=1 {score[1.0]:.2f}, T=2 {score[2.0]:.2f}]")
    assert score[0.0] == 1.0
    assert score[1.0] >= 0.9
    assert score[2.0] <= 0.5 * score[0.0]


def test_same_seed_same_reply() -> None:
    a = _openai_reply(Simulator(seed=11, time_scale=1e-6), PROMPTS[0], 1.3)
    b = _openai_reply(Simulator(seed=11, time_scale=1e-6), PROMPTS[0], 1.3)
    assert a == b
