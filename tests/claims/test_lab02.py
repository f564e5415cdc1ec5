"""Claims of notebook 02, measured through the SDKs: the chat-format estimate equals
usage.prompt_tokens exactly; count_tokens equals usage.input_tokens; cost_usd and a CostMeter
agree with llmlab.pricing and the simulator's bill; the context check refuses before sending."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

import llmlab
from llmlab import pricing, tokens
from llmlab.reference.cost import ContextWindowError, CostMeter, cost_usd, ensure_fits
from llmlab.sim import MODELS, mock

CONVERSATION = json.loads((llmlab.data_dir() / "conversation.json").read_text(encoding="utf-8"))
REQUEST = CONVERSATION[:-1]
SYSTEM = "You are Northwind Cloud's on-call assistant."


@pytest.mark.parametrize("model", ["gpt-4.1-mini", "gpt-4o"])
@pytest.mark.parametrize("messages", [REQUEST, CONVERSATION, CONVERSATION[:1]])
def test_chat_estimate_equals_prompt_tokens(model: str, messages: list[dict[str, str]]) -> None:
    with mock(seed=2, time_scale=0.01):
        resp = openai.OpenAI(api_key="test").chat.completions.create(
            model=model, messages=messages, max_tokens=20
        )
    assert resp.usage is not None
    assert tokens.chat_tokens(messages, model) == resp.usage.prompt_tokens


def test_named_message_estimate_equals_prompt_tokens() -> None:
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "name": "oncall_bot", "content": "Paging payments now."},
    ]
    with mock(seed=2, time_scale=0.01):
        resp = openai.OpenAI(api_key="test").chat.completions.create(
            model="gpt-4.1-mini", messages=messages, max_tokens=20
        )
    assert resp.usage is not None
    assert tokens.chat_tokens(messages, "gpt-4.1-mini") == resp.usage.prompt_tokens


def test_count_tokens_equals_usage_and_cost_matches_bill() -> None:
    with mock(seed=2, time_scale=0.01) as sim:
        client = anthropic.Anthropic(api_key="test")
        counted = client.messages.count_tokens(
            model="claude-sonnet-4-6", system=SYSTEM, messages=REQUEST
        ).input_tokens
        msg = client.messages.create(
            model="claude-sonnet-4-6",
            system=SYSTEM,
            messages=REQUEST,
            max_tokens=50,
        )
    assert counted == msg.usage.input_tokens
    assert counted == tokens.anthropic_tokens(REQUEST, system=SYSTEM)
    mine = cost_usd(msg.usage.input_tokens, msg.usage.output_tokens, 3.0, 15.0)
    library = pricing.cost(
        "claude-sonnet-4-6",
        input_tokens=msg.usage.input_tokens,
        output_tokens=msg.usage.output_tokens,
    )
    billed = next(r.cost_usd for r in sim.billing.records if r.request_id == msg.id)
    assert mine == pytest.approx(float(library.total_usd), abs=1e-12)
    assert mine == pytest.approx(float(billed), abs=1e-12)


def test_cost_meter_agrees_with_simulator_bill() -> None:
    gp = pricing.prices("gpt-4.1-mini")
    meters = {
        "openai": CostMeter(
            float(gp.input), float(gp.output), read_multiplier=float(gp.cache_read / gp.input)
        ),
        "anthropic": CostMeter(3.0, 15.0),
    }
    reports = [
        json.loads(line)["report"]
        for line in (llmlab.data_dir() / "incident_reports.jsonl").read_text().splitlines()[:4]
    ]
    with mock(seed=2, time_scale=0.01) as sim:
        gpt = openai.OpenAI(api_key="test")
        claude = anthropic.Anthropic(api_key="test")
        for report in reports:
            ask = [{"role": "user", "content": f"Summarise for the status page: {report}"}]
            r = gpt.chat.completions.create(model="gpt-4.1-mini", messages=ask, max_tokens=60)
            meters["openai"].add(r.usage)
            m = claude.messages.create(model="claude-sonnet-4-6", messages=ask, max_tokens=60)
            meters["anthropic"].add(m.usage)
        billed = float(sim.billing.total_usd)
    assert sum(m.total_usd for m in meters.values()) == pytest.approx(billed, abs=1e-9)


def test_context_check_refuses_before_sending() -> None:
    postmortem = (llmlab.data_dir() / "postmortem_long.md").read_text(encoding="utf-8")
    window = MODELS["gpt-4o"].context_window
    # the notebook's case: the prompt fits, but prompt + max_tokens does not
    tight = [{"role": "user", "content": "Summarise these:\n" + postmortem * 40}]
    assert tokens.chat_tokens(tight, "gpt-4o") < window
    with pytest.raises(ContextWindowError):
        ensure_fits(tight, "gpt-4o", 4000, window)
    # a prompt over the window: the check refuses it, and so would the provider (a 400)
    huge = [{"role": "user", "content": "Summarise these:\n" + postmortem * 45}]
    with pytest.raises(ContextWindowError):
        ensure_fits(huge, "gpt-4o", 10, window)
    with mock(seed=2, time_scale=0.01) as sim, pytest.raises(openai.BadRequestError):
        openai.OpenAI(api_key="test").chat.completions.create(
            model="gpt-4o", messages=huge, max_tokens=10
        )
    assert sim.billing.total_usd == 0
    assert ensure_fits(CONVERSATION, "gpt-4o", 1000, window) == tokens.chat_tokens(
        CONVERSATION, "gpt-4o"
    )


QUESTION = [{"role": "user", "content": "Checkout returns 500s for 4% of requests since 09:12."}]


@pytest.mark.parametrize("seed", [2, 5, 11])
def test_estimate_call_is_exact_and_the_bill_stays_within_the_reservation(seed: int) -> None:
    """Lab 02's closing step: estimate == reported input; billed / reserved at most 1."""
    from llmlab.reference.cost import estimate_call

    calls = [
        (
            "anthropic",
            "claude-sonnet-4-6",
            {"max_tokens": 300, "system": SYSTEM, "messages": QUESTION},
        ),
        (
            "openai",
            "gpt-4.1-mini",
            {
                "max_completion_tokens": 300,
                "messages": [{"role": "system", "content": SYSTEM}, *QUESTION],
            },
        ),
        (  # the Responses API, as lab 10's client sends OpenAI calls
            "openai",
            "gpt-4.1-mini",
            {"max_output_tokens": 300, "instructions": SYSTEM, "input": QUESTION},
        ),
    ]
    with mock(seed=seed, time_scale=0.01) as sim:
        for provider, model, params in calls:
            n, reserved = estimate_call(provider, model, params)
            if provider == "anthropic":
                msg = anthropic.Anthropic(api_key="test").messages.create(model=model, **params)
                reported, request_id = msg.usage.input_tokens, msg.id
            elif "input" in params:
                reply = openai.OpenAI(api_key="test").responses.create(model=model, **params)
                assert reply.usage is not None
                reported, request_id = reply.usage.input_tokens, reply.id
            else:
                resp = openai.OpenAI(api_key="test").chat.completions.create(model=model, **params)
                assert resp.usage is not None
                reported, request_id = resp.usage.prompt_tokens, resp.id
            billed = sim.billing.by_request()[request_id].cost_usd
            assert n == reported
            assert 0 < billed / reserved <= 1
