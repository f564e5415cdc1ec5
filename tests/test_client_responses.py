"""The capstone client's OpenAI path: the Responses API, through the real async SDK.

Every request's path and body are seen by an HTTP hook on the SDK's own client; what the
client bills is compared with the simulator's billing record and the ledger row.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from llmlab import tokens
from llmlab._httpgen import sdk_http
from llmlab.reference._client_wire import (
    Accumulated,
    read_responses_event,
    responses_kwargs,
)
from llmlab.reference.client import LLMClient, LLMRequest, Message, chat_only, is_infra_error
from llmlab.reference.cost import estimate_call, prompt_estimate
from llmlab.reference.ledger import Ledger, open_ledger
from llmlab.reference.retry import error_type
from llmlab.reference.structured import Incident
from llmlab.reference.tools import ToolCall, ToolResult, ToolSpec
from llmlab.sim import Behaviour, FaultPlan, Simulator, mock

KEY = "sk-test-responses"
MODEL = "gpt-4.1-mini"
LONG_SYSTEM = "You are Northwind's incident assistant. " + "Runbooks are kept current. " * 300


@pytest.fixture
def fake() -> Iterator[Simulator]:
    with mock(seed=7, time_scale=0.002) as sim:
        yield sim


class Seen:
    """The (path, body) of every request the OpenAI SDK sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, request: Any) -> None:
        if request.method == "POST" and request.content:
            self.sent.append((request.url.path, json.loads(request.content)))

    @property
    def paths(self) -> list[str]:
        return [p for p, _ in self.sent]


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


def make(seen: Seen, **overrides: Any) -> LLMClient:
    http = sdk_http("openai").AsyncClient(event_hooks={"request": [seen]})
    settings: dict[str, Any] = dict(
        openai=openai.AsyncOpenAI(api_key=KEY, http_client=http),
        timeout=5.0,
        sleep=_no_wait,
    )
    return LLMClient(**{**settings, **overrides})


def run(fn: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(fn())  # type: ignore[arg-type]


def ask(text: str = "Summarise the payments incident.", **fields: Any) -> LLMRequest:
    return LLMRequest.ask(text, max_tokens=fields.pop("max_tokens", 60), **fields)


def test_an_openai_call_goes_to_v1_responses_stateless(fake: Simulator) -> None:
    seen = Seen()
    client = make(seen)
    result = run(lambda: client.generate(ask(system="You are terse.")))
    assert seen.paths == ["/v1/responses"]
    body = seen.sent[0][1]
    assert body["store"] is False and body["stream"] is True  # the client keeps the history
    assert body["instructions"] == "You are terse." and "messages" not in body
    assert body["max_output_tokens"] == 60 and "temperature" in body
    assert result.request_id.startswith("resp_") and result.text
    assert result.stop_reason in ("stop", "length")


def test_billed_usage_equals_the_ledger_row_cached_tokens_included(
    fake: Simulator, tmp_path: Path
) -> None:
    logger = logging.getLogger("test.responses.ledger")
    logger.propagate = False
    ledger = Ledger(open_ledger(tmp_path / "l.sqlite"), logger, b"k", clock=fake.clock.now)
    client = make(Seen(), ledger=ledger)
    request = ask("Is checkout degraded?", system=LONG_SYSTEM)
    first = run(lambda: client.generate(request))
    second = run(lambda: client.generate(request))
    assert second.usage.cache_read_tokens > 1000  # OpenAI's automatic prefix cache
    rows = ledger.conn.execute(
        "SELECT request_id, prompt_tokens, completion_tokens, cache_read_tokens, cost_usd "
        "FROM calls"
    ).fetchall()
    for result, row in zip((first, second), rows, strict=True):
        bill = fake.billing.by_request()[result.request_id]
        assert row[0] == result.request_id
        assert row[1] == bill.input_tokens + bill.cache_read_tokens == result.usage.input_tokens
        assert row[2] == bill.output_tokens and row[3] == bill.cache_read_tokens
        assert abs(row[4] - bill.cost_usd) < 1e-12 and abs(result.cost_usd - bill.cost_usd) < 1e-12
    # the local estimate before sending is what the provider reported
    assert client.estimate(request)[0] == first.usage.input_tokens


class _Status(BaseModel):
    service: str


def test_the_local_count_equals_reported_input_with_tools_and_function_items(
    fake: Simulator,
) -> None:
    spec = {"get_status": ToolSpec(lambda service: "degraded", _Status, "Status of a service.")}
    call = ToolCall("call_abc", "get_status", {"service": "payments"})
    messages = (
        Message("user", "Is payments degraded?"),
        Message("assistant", "Checking.", tool_calls=(call,)),
        Message("user", "And search?", tool_results=(ToolResult("call_abc", "degraded"),)),
    )
    kwargs = responses_kwargs(
        model=MODEL,
        system="You are terse.",
        messages=messages,
        max_tokens=40,
        temperature=1.0,
        top_p=None,
        tools=spec,
    )
    items = kwargs["input"]
    assert [i.get("type", "message") for i in items] == [
        "message",
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    gpt = openai.OpenAI(api_key=KEY, max_retries=0)
    reply = gpt.responses.create(**{**kwargs, "stream": False})
    assert reply.usage is not None
    assert prompt_estimate("openai", MODEL, kwargs) == reply.usage.input_tokens
    assert estimate_call("openai", MODEL, kwargs)[0] == reply.usage.input_tokens
    counted = gpt.responses.input_tokens.count(
        model=MODEL, input=items, instructions="You are terse.", tools=kwargs["tools"]
    )
    assert counted.input_tokens == tokens.responses_tokens(
        items, "You are terse.", kwargs["tools"], MODEL
    )
    # a stored conversation bills its history: the same rule over history + new input
    first = gpt.responses.create(model=MODEL, input="Is search slow?", max_output_tokens=30)
    second = gpt.responses.create(
        model=MODEL, previous_response_id=first.id, input="Why?", max_output_tokens=30
    )
    history = [{"role": "user", "content": "Is search slow?"}, *first.model_dump()["output"]]
    assert second.usage is not None
    assert second.usage.input_tokens == tokens.responses_tokens(
        [*history, {"role": "user", "content": "Why?"}], model=MODEL
    )


def test_structured_output_and_tools_work_over_responses(fake: Simulator) -> None:
    seen = Seen()
    client = make(seen)
    fake.set_behaviour(Behaviour(schema_errors=1))  # a strict tool: no schema errors get through
    result = run(
        lambda: client.generate(
            ask("Checkout is down for everyone.", max_tokens=200), schema=Incident
        )
    )
    assert isinstance(result.parsed, Incident) and result.provider == "openai"
    assert client.stats["validation_retries"] == 0
    body = seen.sent[-1][1]
    assert body["tool_choice"] == {"type": "function", "name": "respond"}
    assert body["tools"][0]["strict"] is True and body["tools"][0]["name"] == "respond"
    fake.set_behaviour(Behaviour())
    seen.sent.clear()
    tools = {"get_status": ToolSpec(lambda service: "degraded", _Status, "Status of a service.")}
    run_ = run(lambda: client.with_tools(ask("What is the status of checkout?"), tools))
    assert run_.calls and run_.answer
    assert set(seen.paths) == {"/v1/responses"} and len(seen.sent) >= 2
    kinds = [i.get("type", "message") for i in seen.sent[1][1]["input"]]
    assert "function_call" in kinds and "function_call_output" in kinds


@pytest.mark.parametrize("kind", ["cut", "stream_error"])
def test_a_responses_stream_cut_midway_is_recorded_and_classified(
    fake: Simulator, tmp_path: Path, kind: str
) -> None:
    logger = logging.getLogger(f"test.responses.{kind}")
    logger.propagate = False
    ledger = Ledger(open_ledger(tmp_path / "c.sqlite"), logger, b"k", clock=fake.clock.now)
    client = make(Seen(), ledger=ledger)
    fake.set_faults(FaultPlan.scripted([llmlab_fault(kind)]))
    result = run(lambda: client.generate(ask("Write the full runbook.", max_tokens=200)))
    assert result.attempts == 2 and result.provider == "openai"
    rows = ledger.conn.execute("SELECT status, request_id, cost_usd, error FROM calls").fetchall()
    assert [r[0] for r in rows] == ["error", "ok"]
    bills = fake.billing.by_request()
    assert set(bills) == {r[1] for r in rows}  # the dead stream was billed, and the ledger knows
    assert not bills[rows[0][1]].complete and rows[0][2] > 0
    assert abs(bills[rows[0][1]].cost_usd - rows[0][2]) < 5e-5
    if kind == "stream_error":
        assert rows[0][3].startswith("APIError")


def llmlab_fault(kind: str) -> Any:
    from llmlab.sim import Fault

    return Fault(kind, after_events=8)


def test_an_error_event_is_an_infra_error_as_on_chat(fake: Simulator) -> None:
    gpt = openai.OpenAI(api_key=KEY, max_retries=0)
    fake.set_faults(FaultPlan.scripted(["stream_error"]))
    acc = Accumulated("openai", MODEL)
    with pytest.raises(openai.APIError) as info:
        for event in gpt.responses.create(
            model=MODEL, input="Write the runbook.", max_output_tokens=100, stream=True
        ):
            read_responses_event(acc, event)
    assert is_infra_error(info.value) and acc.request_id is not None and not acc.complete
    fake.set_faults(FaultPlan.scripted(["stream_error"]))
    with pytest.raises(openai.APIError) as chat:
        for _ in gpt.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Write the runbook."}],
            max_completion_tokens=100,
            stream=True,
        ):
            pass
    assert is_infra_error(chat.value) and info.value.type == chat.value.type == "server_error"
    assert error_type(info.value) == error_type(chat.value)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"stop": ("\n\n",)}, "stop sequences"),
        ({"seed": 3}, "a seed"),
        ({"max_tokens": 8}, "max_tokens below 16"),
    ],
)
def test_a_chat_only_request_goes_to_chat_completions(
    fake: Simulator, fields: dict[str, Any], why: str
) -> None:
    seen = Seen()
    client = make(seen)
    request = ask(**fields)
    assert chat_only(request) == why
    result = run(lambda: client.generate(request))
    assert seen.paths == ["/v1/chat/completions"] and result.request_id.startswith("chatcmpl-")
    body = seen.sent[0][1]
    assert body.get("seed") == fields.get("seed") and body.get("stop") == (
        list(fields["stop"]) if "stop" in fields else None
    )
    assert client.estimate(request)[0] == result.usage.input_tokens


def test_openai_api_chat_still_works(fake: Simulator) -> None:
    seen = Seen()
    client = make(seen, openai_api="chat")
    result = run(lambda: client.generate(ask("Checkout is down.", max_tokens=200), schema=Incident))
    assert isinstance(result.parsed, Incident)
    assert set(seen.paths) == {"/v1/chat/completions"}
    with pytest.raises(ValueError, match="openai_api must be"):
        make(seen, openai_api="assistants")
