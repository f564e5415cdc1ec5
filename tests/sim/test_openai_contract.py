"""Contract tests: the real ``openai`` SDK against the in-process simulator."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import httpx
import openai
import pytest
from pydantic import BaseModel

from llmlab import tokens as tk
from llmlab.sim import MODELS, Simulator

MODEL = "gpt-4.1-mini"
URL = "https://api.openai.com/v1/chat/completions"
USER: list[dict[str, Any]] = [
    {"role": "user", "content": "Summarise the checkout incident runbook in a sentence."}
]
STATUS_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_service_status",
        "description": "Current health of one Northwind Cloud service.",
        "parameters": {
            "type": "object",
            "properties": {"service": {"type": "string"}},
            "required": ["service"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
TRIAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "severity": {"type": "string", "enum": ["sev1", "sev2", "sev3", "sev4"]},
        "service": {"type": "string"},
        "summary": {"type": "string"},
        "needs_human": {"type": "boolean"},
    },
    "required": ["severity", "service", "summary", "needs_human"],
    "additionalProperties": False,
}


class Triage(BaseModel):
    severity: Literal["sev1", "sev2", "sev3", "sev4"]
    service: str
    summary: str
    needs_human: bool


@pytest.fixture
def client(sim: Simulator) -> openai.OpenAI:
    return openai.OpenAI(api_key="test", max_retries=0)


@pytest.fixture
def aclient(sim: Simulator) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="test", max_retries=0)


# -- chat.completions.create --------------------------------------------------------------------
def test_create_shape_and_usage(client: openai.OpenAI, sim: Simulator) -> None:
    c = client.chat.completions.create(model=MODEL, messages=USER, max_tokens=30)  # type: ignore[arg-type]
    assert c.id.startswith("chatcmpl-") and c.object == "chat.completion"
    assert c.model.startswith(MODEL) and c.system_fingerprint
    choice = c.choices[0]
    assert choice.index == 0 and choice.message.role == "assistant"
    assert choice.message.content and choice.finish_reason in ("stop", "length")
    assert choice.logprobs is None
    u = c.usage
    assert u is not None and u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert 0 < u.completion_tokens <= 30
    assert u.prompt_tokens_details is not None and u.prompt_tokens_details.cached_tokens == 0
    assert u.completion_tokens_details is not None
    assert u.completion_tokens_details.reasoning_tokens == 0
    assert u.prompt_tokens == tk.chat_tokens(USER, MODEL)
    assert [r.request_id for r in sim.billing.records] == [c.id]


async def test_create_async(aclient: openai.AsyncOpenAI) -> None:
    c = await aclient.chat.completions.create(model=MODEL, messages=USER, max_tokens=10)  # type: ignore[arg-type]
    assert c.choices[0].message.content


def test_every_role_and_prompt_token_accounting(client: openai.OpenAI) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are the Northwind on-call assistant."},
        {"role": "developer", "content": "Answer in one sentence."},
        {"role": "user", "name": "ana", "content": "Is search healthy?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_service_status", "arguments": '{"service":"search"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "search: healthy"},
        {"role": "assistant", "content": "Search is healthy."},
        {"role": "user", "content": [{"type": "text", "text": "And the database?"}]},
    ]
    c = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=20)  # type: ignore[arg-type]
    assert c.choices[0].message.content
    plain = [m for m in messages if "tool_calls" not in m and m["role"] != "tool"]
    c2 = client.chat.completions.create(model=MODEL, messages=plain, max_tokens=5)  # type: ignore[arg-type]
    assert c2.usage is not None and c2.usage.prompt_tokens == tk.chat_tokens(plain, MODEL)


def test_max_completion_tokens_and_length(client: openai.OpenAI) -> None:
    c = client.chat.completions.create(model=MODEL, messages=USER, max_completion_tokens=4)  # type: ignore[arg-type]
    assert c.choices[0].finish_reason == "length"
    assert c.usage is not None and c.usage.completion_tokens == 4


def test_stop_sequence(client: openai.OpenAI) -> None:
    free = client.chat.completions.create(model=MODEL, messages=USER, temperature=0, max_tokens=40)  # type: ignore[arg-type]
    text = free.choices[0].message.content or ""
    stop = text.split()[3]
    c = client.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL, messages=USER, temperature=0, max_tokens=40, stop=[stop]
    )
    out = c.choices[0].message.content or ""
    assert c.choices[0].finish_reason == "stop" and stop not in out and text.startswith(out)


# -- tools --------------------------------------------------------------------------------------
def test_parallel_tool_calls_round_trip(client: openai.OpenAI) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "What is the service status of checkout and payments?"}
    ]
    c = client.chat.completions.create(model=MODEL, messages=messages, tools=[STATUS_TOOL])  # type: ignore[arg-type]
    msg = c.choices[0].message
    assert c.choices[0].finish_reason == "tool_calls" and msg.tool_calls
    calls = msg.tool_calls
    assert len(calls) == 2 and len({call.id for call in calls}) == 2
    assert all(call.id.startswith("call_") and call.type == "function" for call in calls)
    args = [json.loads(call.function.arguments) for call in calls]  # type: ignore[union-attr]
    assert {a["service"] for a in args} == {"checkout", "payments"}
    messages.append(msg.model_dump(exclude_none=True))
    for call, a in zip(calls, args, strict=True):
        messages.append({"role": "tool", "tool_call_id": call.id, "content": f"{a} healthy"})
    final = client.chat.completions.create(model=MODEL, messages=messages, tools=[STATUS_TOOL])  # type: ignore[arg-type]
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content and not final.choices[0].message.tool_calls


def test_parallel_tool_calls_false(client: openai.OpenAI) -> None:
    c = client.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL,
        messages=[{"role": "user", "content": "service status of checkout and payments?"}],
        tools=[STATUS_TOOL],
        parallel_tool_calls=False,
    )
    assert len(c.choices[0].message.tool_calls or []) == 1


@pytest.mark.parametrize("choice", ["auto", "none", "required", "named"])
def test_tool_choice(client: openai.OpenAI, choice: str) -> None:
    triage = {
        "type": "function",
        "function": {"name": "triage", "parameters": TRIAGE_SCHEMA, "strict": True},
    }
    tool_choice: Any = (
        {"type": "function", "function": {"name": "triage"}} if choice == "named" else choice
    )
    c = client.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL,
        messages=[{"role": "user", "content": "Checkout is down for all customers."}],
        tools=[STATUS_TOOL, triage],
        tool_choice=tool_choice,
    )
    calls = c.choices[0].message.tool_calls or []
    if choice in ("auto", "none"):
        assert not calls and c.choices[0].message.content
    else:
        assert calls
        assert c.choices[0].finish_reason == ("stop" if choice == "named" else "tool_calls")
    if choice == "named":
        args = json.loads(calls[0].function.arguments)  # type: ignore[union-attr]
        assert args["severity"] == "sev1" and args["service"] == "checkout"


# -- structured output --------------------------------------------------------------------------
def test_json_object(client: openai.OpenAI) -> None:
    c = client.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL,
        messages=[{"role": "user", "content": "Triage this as JSON: search is slow."}],
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(c.choices[0].message.content or ""), dict)


def test_json_schema_strict(client: openai.OpenAI) -> None:
    c = client.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL,
        messages=[{"role": "user", "content": "Payments are degraded for many customers."}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "triage", "schema": TRIAGE_SCHEMA, "strict": True},
        },
    )
    obj = json.loads(c.choices[0].message.content or "")
    assert Triage.model_validate(obj).severity == "sev2" and obj["service"] == "payments"


def test_json_schema_strict_ignores_injected_errors(client: openai.OpenAI, sim: Simulator) -> None:
    from llmlab.sim import Behaviour

    sim.set_behaviour(Behaviour(schema_errors=3))
    for _ in range(3):
        c = client.chat.completions.parse(
            model=MODEL,
            messages=[{"role": "user", "content": "Auth login is down for all customers."}],
            response_format=Triage,
        )
        assert c.choices[0].message.parsed is not None


def test_parse_pydantic(client: openai.OpenAI) -> None:
    c = client.chat.completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": "Checkout is down for all customers."}],
        response_format=Triage,
        temperature=0,
    )
    parsed = c.choices[0].message.parsed
    assert isinstance(parsed, Triage)
    assert parsed.severity == "sev1" and parsed.service == "checkout"


def test_parse_length_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.LengthFinishReasonError):
        client.chat.completions.parse(
            model=MODEL,
            messages=[{"role": "user", "content": "Checkout is down for all customers."}],
            response_format=Triage,
            max_tokens=3,
        )


# -- sampling -----------------------------------------------------------------------------------
def test_logprobs_are_consistent(client: openai.OpenAI) -> None:
    c = client.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL, messages=USER, max_tokens=15, logprobs=True, top_logprobs=5
    )
    lp = c.choices[0].logprobs
    assert lp is not None and lp.content
    assert "".join(t.token for t in lp.content) == c.choices[0].message.content
    for entry in lp.content:
        tops = [t.logprob for t in entry.top_logprobs]
        assert len(tops) == 5 and tops == sorted(tops, reverse=True)
        assert all(x <= 0 for x in tops) and sum(math.exp(x) for x in tops) <= 1 + 1e-6
        assert entry.logprob <= 0 and bytes(entry.bytes or []) == entry.token.encode()
        if entry.token in [t.token for t in entry.top_logprobs]:
            assert any(abs(t.logprob - entry.logprob) < 1e-9 for t in entry.top_logprobs)
        else:
            assert entry.logprob <= tops[-1] + 1e-9


def test_greedy_logprobs_pick_the_top(client: openai.OpenAI) -> None:
    c = client.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL, messages=USER, max_tokens=10, temperature=0, logprobs=True, top_logprobs=1
    )
    content = c.choices[0].logprobs.content
    # after the first few tokens the end-of-text suppression no longer matters
    assert all(e.token == e.top_logprobs[0].token for e in content[1:])


def test_top_logprobs_requires_logprobs(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=USER, top_logprobs=3)  # type: ignore[arg-type]


def test_n_choices(client: openai.OpenAI) -> None:
    c = client.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL, messages=USER, n=3, max_tokens=20, logprobs=True
    )
    assert [ch.index for ch in c.choices] == [0, 1, 2]
    assert len({ch.message.content for ch in c.choices}) > 1
    assert c.usage is not None
    # usage bills every choice: each emitted token, plus the end-of-text token when it stopped
    emitted = sum(len(ch.logprobs.content) for ch in c.choices)
    stopped = sum(ch.finish_reason == "stop" for ch in c.choices)
    assert emitted <= c.usage.completion_tokens <= emitted + stopped


def test_seed_reproducible_and_seeds_differ(client: openai.OpenAI) -> None:
    def run(seed: int) -> str:
        c = client.chat.completions.create(  # type: ignore[call-overload]
            model=MODEL, messages=USER, temperature=1, seed=seed, max_tokens=25
        )
        return c.choices[0].message.content or ""

    assert run(7) == run(7) == run(7)
    assert len({run(s) for s in range(5)}) > 1


def test_temperature_zero_and_penalties(client: openai.OpenAI) -> None:
    # a confident model: a penalty of 2.0 flips only tokens already said several times, so the
    # reply must be long enough to repeat some (a walk-through, 120 tokens)
    walk = [{"role": "user", "content": "Walk me through restarting the payments service safely."}]

    def run(**kw: Any) -> str:
        c = client.chat.completions.create(model=MODEL, messages=walk, max_tokens=120, **kw)  # type: ignore[call-overload]
        return c.choices[0].message.content or ""

    greedy = run(temperature=0)
    assert greedy == run(temperature=0)
    penalised = run(temperature=0, frequency_penalty=2.0)
    assert penalised != greedy
    words = greedy.split()
    assert len(set(penalised.split())) / len(penalised.split()) >= len(set(words)) / len(words)


# -- streaming ----------------------------------------------------------------------------------
def test_stream_include_usage_matches_non_stream(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model=MODEL, messages=USER, temperature=0, max_tokens=30)  # type: ignore[arg-type]
    chunks = list(
        client.chat.completions.create(  # type: ignore[call-overload]
            model=MODEL,
            messages=USER,
            temperature=0,
            max_tokens=30,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert all(ch.object == "chat.completion.chunk" for ch in chunks)
    assert len({ch.id for ch in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == plain.choices[0].message.content
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices]
    assert finishes[-1] == plain.choices[0].finish_reason and not any(finishes[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(ch.usage is None for ch in chunks[:-1])
    assert chunks[-1].usage.model_dump() == plain.usage.model_dump()  # type: ignore[union-attr]


def test_stream_without_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model=MODEL, messages=USER, max_tokens=5, stream=True)  # type: ignore[call-overload]
    )
    assert all(ch.usage is None and ch.choices for ch in chunks)


def test_stream_helper_and_tool_call_deltas(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model=MODEL,
        messages=[{"role": "user", "content": "service status of checkout and payments?"}],
        tools=[STATUS_TOOL],  # type: ignore[list-item]
    ) as stream:
        done = [e for e in stream if e.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert len(calls) == 2 and len(done) == 2
    assert [c.function.name for c in calls] == ["get_service_status"] * 2
    assert {c.function.parsed_arguments["service"] for c in calls} == {"checkout", "payments"}  # type: ignore[index]


async def test_async_stream(aclient: openai.AsyncOpenAI) -> None:
    stream = await aclient.chat.completions.create(  # type: ignore[call-overload]
        model=MODEL, messages=USER, max_tokens=10, stream=True
    )
    text = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
    assert text


# -- models and errors --------------------------------------------------------------------------
def test_models_list(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == [m.id for m in MODELS.values() if m.provider == "openai"] and MODEL in ids
    assert client.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-nope")


def _assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    err = response.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    assert response.headers["x-request-id"]
    return dict(err)


def test_no_key_is_401(sim: Simulator, client: openai.OpenAI) -> None:
    _assert_error(httpx.post(URL, json={"model": MODEL, "messages": USER}), 401)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model=MODEL,
            messages=USER,  # type: ignore[arg-type]
            extra_headers={"Authorization": openai.Omit()},
        )


def test_malformed_json_and_content_type(sim: Simulator) -> None:
    hdrs = {"authorization": "Bearer test"}
    _assert_error(
        httpx.post(URL, content=b"{", headers={**hdrs, "content-type": "application/json"}), 400
    )
    _assert_error(
        httpx.post(URL, content=b"hi", headers={**hdrs, "content-type": "text/plain"}), 400
    )


BAD: dict[str, dict[str, Any]] = {
    "empty messages": {"messages": []},
    "bad role": {"messages": [{"role": "robot", "content": "hi"}]},
    "max_tokens over limit": {"max_tokens": 10_000_000},
    "prompt too long": {"messages": [{"role": "user", "content": "outage " * 1_100_000}]},
    "invalid tool schema": {
        "tools": [{"type": "function", "function": {"name": "x", "parameters": {"type": "array"}}}]
    },
    "orphan tool message": {
        "messages": [*USER, {"role": "tool", "tool_call_id": "call_x", "content": "ok"}]
    },
    "json_object without json": {"response_format": {"type": "json_object"}},
    "temperature above 2": {"temperature": 2.5},
    "n zero": {"n": 0},
    "five stops": {"stop": ["a", "b", "c", "d", "e"]},
    "top_logprobs 21": {"logprobs": True, "top_logprobs": 21},
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_requests(client: openai.OpenAI, case: str) -> None:
    kwargs: dict[str, Any] = {"model": MODEL, "messages": USER, **BAD[case]}
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(**kwargs)
    err = info.value.body
    assert isinstance(err, dict) and err["type"] == "invalid_request_error"
    assert info.value.status_code == 400


def test_unknown_model_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-nope", messages=USER)  # type: ignore[arg-type]
    assert info.value.code == "model_not_found"


def test_stream_helper_parses_pydantic(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model=MODEL,
        messages=[{"role": "user", "content": "Checkout is down for all customers."}],
        response_format=Triage,
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    parsed = final.choices[0].message.parsed
    assert isinstance(parsed, Triage) and parsed.service == "checkout"
    assert Triage.model_validate_json("".join(deltas)) == parsed


def test_stream_n_choices_with_usage(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model=MODEL,
        messages=USER,  # type: ignore[arg-type]
        n=2,
        max_tokens=400,
        stream_options={"include_usage": True},
    ) as stream:
        final = stream.get_final_completion()
    assert [c.index for c in final.choices] == [0, 1]
    assert all(c.message.content for c in final.choices)
    assert final.usage is not None and final.usage.completion_tokens > 0
