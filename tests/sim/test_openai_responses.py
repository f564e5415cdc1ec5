"""Contract tests: the real ``openai`` SDK's ``client.responses`` against the simulator.

Every test that takes ``api`` runs twice: in-process (the ``sim`` fixture) and over HTTP (the
``sim_server`` fixture, ``base_url=sim_server.openai_base_url``). Both SDK generations run this
file (``make test`` and ``make test-legacy``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from llmlab.sim import FaultPlan, Simulator, sdk_http

from .test_bad_input import SETTINGS, _check, mutate
from .test_openai_contract import STATUS_TOOL as CHAT_STATUS_TOOL

MODEL = "gpt-4.1-mini"
ASK = "Summarise the checkout incident runbook in a sentence."
#: the Chat Completions contract's tool, in the Responses API's flat shape
STATUS_TOOL: dict[str, Any] = {"type": "function", **CHAT_STATUS_TOOL["function"]}
STATUS_ASK = "What is the status of the checkout service right now?"


class Triage(BaseModel):
    severity: Literal["sev1", "sev2", "sev3", "sev4"]
    service: str
    summary: str
    needs_human: bool


TRIAGE_TEXT: Any = {
    "format": {"type": "json_schema", "name": "Triage", "schema": Triage.model_json_schema()}
}


@dataclass
class Api:
    """An SDK client and the simulator answering it."""

    client: openai.OpenAI
    sim: Simulator
    base_url: str | None

    def make(self, **kw: Any) -> openai.OpenAI:
        return openai.OpenAI(api_key="test", base_url=self.base_url, **kw)


@pytest.fixture(params=["inprocess", "http"])
def api(request: pytest.FixtureRequest) -> Api:
    if request.param == "inprocess":
        sim: Simulator = request.getfixturevalue("sim")
        return Api(openai.OpenAI(api_key="test", max_retries=0), sim, None)
    server = request.getfixturevalue("sim_server")
    url = server.openai_base_url
    return Api(openai.OpenAI(api_key="test", base_url=url, max_retries=0), server.sim, url)


@pytest.fixture
def client(sim: Simulator) -> openai.OpenAI:
    return openai.OpenAI(api_key="test", max_retries=0)


# -- create -------------------------------------------------------------------------------------
def test_create_shape_usage_and_billing(api: Api) -> None:
    r = api.client.responses.create(model=MODEL, input=ASK, instructions="Be brief.")
    assert r.id.startswith("resp_") and r.object == "response" and r.status == "completed"
    assert r.model.startswith(MODEL) and r.instructions == "Be brief." and r.error is None
    assert r.incomplete_details is None and r.store is True and r.tools == []
    assert [item.type for item in r.output] == ["message"]
    message = r.output[0]
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_") and message.status == "completed"
    assert message.content[0].type == "output_text" and r.output_text
    u = r.usage
    assert u is not None and u.total_tokens == u.input_tokens + u.output_tokens
    assert u.input_tokens_details.cached_tokens == 0
    assert u.output_tokens_details.reasoning_tokens == 0
    record = api.sim.billing.by_request()[r.id]
    assert record.provider == "openai" and record.model == MODEL and record.complete
    assert (record.input_tokens, record.output_tokens) == (u.input_tokens, u.output_tokens)
    assert record.cost_usd > 0 and api.sim.summary().calls == {"openai": 1}


def test_created_at_is_the_wall_clock_as_chat_created(api: Api) -> None:
    before = int(time.time())
    r = api.client.responses.create(model=MODEL, input=ASK, max_output_tokens=30)
    chat = api.client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": ASK}], max_completion_tokens=30
    )
    after = int(time.time())
    assert before <= r.created_at <= after and before <= chat.created <= after
    assert r.completed_at is not None and r.created_at < r.completed_at <= after + 1


def test_item_input_and_retrieve(api: Api) -> None:
    items: Any = [
        {"role": "developer", "content": "Answer in one sentence."},
        {"role": "user", "content": [{"type": "input_text", "text": "Hi, I am on call today."}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Hello!"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": ASK}]},
    ]
    r = api.client.responses.create(model=MODEL, input=items, temperature=0.2, top_p=0.9)
    assert r.status == "completed" and r.output_text
    assert (r.temperature, r.top_p) == (0.2, 0.9)
    again = api.client.responses.retrieve(r.id)
    assert again.id == r.id and again.output_text == r.output_text
    assert again.usage is not None and again.usage.total_tokens == r.usage.total_tokens  # type: ignore[union-attr]


def test_same_seed_same_answer() -> None:
    from llmlab.sim import mock

    def run() -> tuple[str, str]:
        with mock(seed=7, time_scale=0.001):
            r = openai.OpenAI(api_key="test").responses.create(model=MODEL, input=ASK)
            return r.id, r.output_text

    assert run() == run()


async def test_async_create(sim: Simulator) -> None:
    r = await openai.AsyncOpenAI(api_key="test").responses.create(model=MODEL, input=ASK)
    assert r.status == "completed" and r.output_text


# -- streaming ----------------------------------------------------------------------------------
TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
]
TEXT_CLOSE = [
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def test_stream_helper_event_order_text_and_usage(api: Api) -> None:
    with api.client.responses.stream(model=MODEL, input=ASK) as stream:
        seen = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in seen]
    deltas = [e for e in seen if e.type == "response.output_text.delta"]
    assert kinds == TEXT_EVENTS + ["response.output_text.delta"] * len(deltas) + TEXT_CLOSE
    assert [e.sequence_number for e in seen] == list(range(len(seen)))
    text = "".join(e.delta for e in deltas)  # type: ignore[union-attr]
    assert text and text == final.output_text
    assert final.status == "completed" and final.usage is not None
    assert final.usage.output_tokens - len(deltas) in (0, 1)  # the end-of-text token counts
    record = api.sim.billing.by_request()[final.id]
    assert record.complete and record.output_tokens == final.usage.output_tokens
    assert api.client.responses.retrieve(final.id).output_text == text


def test_create_stream_true_raw_events(api: Api) -> None:
    events = list(api.client.responses.create(model=MODEL, input=ASK, stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    created, done = events[0].response, events[-1].response  # type: ignore[union-attr]
    assert created.status == "in_progress" and created.output == [] and created.id == done.id
    assert done.usage is not None and done.output_text


def test_stream_function_call_arguments(api: Api) -> None:
    tools: Any = [STATUS_TOOL]
    with api.client.responses.stream(model=MODEL, input=STATUS_ASK, tools=tools) as stream:
        seen = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in seen]
    assert "response.content_part.added" not in kinds
    pieces = [e.delta for e in seen if e.type == "response.function_call_arguments.delta"]  # type: ignore[union-attr]
    done = next(e for e in seen if e.type == "response.function_call_arguments.done")
    call = final.output[0]
    assert call.type == "function_call" and done.arguments == "".join(pieces) == call.arguments  # type: ignore[union-attr]
    assert json.loads(call.arguments) == {"service": "checkout"}
    assert kinds[-2:] == ["response.output_item.done", "response.completed"]


def test_stream_error_fault_sends_an_error_event(sim: Simulator, client: openai.OpenAI) -> None:
    from llmlab.sim import Fault

    sim.set_faults(FaultPlan.scripted([Fault("stream_error", after_events=4)]))
    events = list(client.responses.create(model=MODEL, input=ASK, stream=True))
    assert [e.type for e in events][-1] == "error" and len(events) == 5
    assert events[-1].sequence_number == 4  # type: ignore[union-attr]
    assert not sim.billing.records[-1].complete


# -- structured output and tools ----------------------------------------------------------------
def test_parse_text_format(api: Api) -> None:
    report = "The payments service is down for all customers since 09:12."
    r = api.client.responses.parse(model=MODEL, input=report, text_format=Triage)
    parsed = r.output_parsed
    assert isinstance(parsed, Triage) and parsed.service == "payments"
    assert parsed.severity == "sev1" and parsed.needs_human is True
    assert r.text is not None and r.text.format is not None
    assert r.text.format.type == "json_schema"


def test_json_schema_via_create(client: openai.OpenAI) -> None:
    schema = Triage.model_json_schema() | {"additionalProperties": False}
    fmt: Any = {"type": "json_schema", "name": "Triage", "schema": schema, "strict": True}
    r = client.responses.create(model=MODEL, input="Checkout is degraded.", text={"format": fmt})
    Triage.model_validate_json(r.output_text)


def test_tool_loop_with_previous_response_id(api: Api) -> None:
    tools: Any = [STATUS_TOOL]
    first = api.client.responses.create(model=MODEL, input=STATUS_ASK, tools=tools)
    call = first.output[0]
    assert call.type == "function_call" and call.name == "get_service_status"
    assert call.call_id.startswith("call_") and call.status == "completed"
    assert json.loads(call.arguments) == {"service": "checkout"}
    result: Any = [
        {"type": "function_call_output", "call_id": call.call_id, "output": "checkout: healthy"}
    ]
    second = api.client.responses.create(
        model=MODEL, input=result, tools=tools, previous_response_id=first.id
    )
    assert second.previous_response_id == first.id and second.status == "completed"
    assert "checkout: healthy" in second.output_text
    assert second.usage.input_tokens > first.usage.input_tokens  # type: ignore[union-attr]


def test_tool_loop_with_full_items_and_store_false(api: Api) -> None:
    tools: Any = [STATUS_TOOL]
    history: list[Any] = [{"role": "user", "content": STATUS_ASK}]
    first = api.client.responses.create(model=MODEL, input=history, tools=tools, store=False)
    call = first.output[0]
    assert call.type == "function_call" and first.store is False
    history += [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "ok"})
    second = api.client.responses.create(model=MODEL, input=history, tools=tools, store=False)
    assert "ok" in second.output_text


def test_parse_with_pydantic_function_tool(client: openai.OpenAI) -> None:
    class GetServiceStatus(BaseModel):
        service: str

    tool: Any = openai.pydantic_function_tool(GetServiceStatus)
    r = client.responses.parse(
        model=MODEL,
        input="Check the status of the checkout service.",
        tools=[tool],
        tool_choice={"type": "function", "name": "GetServiceStatus"},
    )
    call = r.output[0]
    assert call.type == "function_call"
    assert call.parsed_arguments == GetServiceStatus(service="checkout")  # type: ignore[union-attr]


@pytest.mark.parametrize("choice", ["required", "none", "named"])
def test_tool_choice(client: openai.OpenAI, choice: str) -> None:
    tools: Any = [STATUS_TOOL]
    picked: Any = (
        {"type": "function", "name": "get_service_status"} if choice == "named" else choice
    )
    r = client.responses.create(model=MODEL, input=ASK, tools=tools, tool_choice=picked)
    kinds = [item.type for item in r.output]
    assert kinds == (["message"] if choice == "none" else ["function_call"])
    assert r.status == "completed"


# -- conversation state -------------------------------------------------------------------------
def test_previous_response_id_carries_history_not_instructions(api: Api) -> None:
    first = api.client.responses.create(model=MODEL, input=ASK, instructions="Be brief.")
    second = api.client.responses.create(
        model=MODEL, input="And who owns it?", previous_response_id=first.id
    )
    alone = api.client.responses.input_tokens.count(model=MODEL, input="And who owns it?")
    assert first.usage is not None and second.usage is not None
    assert second.usage.input_tokens > alone.input_tokens + first.usage.output_tokens
    assert second.instructions is None  # instructions are not carried over


def test_store_false_cannot_be_continued_or_retrieved(api: Api) -> None:
    r = api.client.responses.create(model=MODEL, input=ASK, store=False)
    with pytest.raises(openai.BadRequestError) as err:
        api.client.responses.create(model=MODEL, input="More?", previous_response_id=r.id)
    body: Any = err.value.body
    assert body["code"] == "previous_response_not_found"
    assert body["param"] == "previous_response_id" and r.id in body["message"]
    with pytest.raises(openai.NotFoundError):
        api.client.responses.retrieve(r.id)


def test_delete(client: openai.OpenAI) -> None:
    r = client.responses.create(model=MODEL, input=ASK)
    client.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r.id)


def test_store_is_bounded(sim: Simulator, client: openai.OpenAI) -> None:
    from llmlab.sim.wire._openai_responses import store_for

    store = store_for(sim)
    store.max_entries = 3
    ids = [client.responses.create(model=MODEL, input=ASK).id for _ in range(5)]
    assert len(store) == 3
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(ids[0])
    assert client.responses.retrieve(ids[-1]).id == ids[-1]


# -- limits, caching, faults, errors ------------------------------------------------------------
def test_max_output_tokens_gives_incomplete(api: Api) -> None:
    r = api.client.responses.create(
        model=MODEL,
        input="Payments are down for all customers.",
        max_output_tokens=16,
        text=TRIAGE_TEXT,
    )
    assert r.status == "incomplete" and r.max_output_tokens == 16
    assert r.incomplete_details is not None and r.incomplete_details.reason == "max_output_tokens"
    assert r.usage is not None and r.usage.output_tokens == 16
    assert r.output[0].status == "incomplete"  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError, match="max_output_tokens"):
        api.client.responses.create(model=MODEL, input=ASK, max_output_tokens=5)


def test_stream_incomplete_ends_with_response_incomplete(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(
            model=MODEL,
            input="Payments are down for all customers.",
            max_output_tokens=16,
            text=TRIAGE_TEXT,
            stream=True,
        )
    )
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"  # type: ignore[union-attr]


def test_long_instructions_are_cached_on_the_second_call(api: Api) -> None:
    runbook = " ".join(
        f"Step {i}: check the checkout dashboard and page on-call." for i in range(150)
    )
    first = api.client.responses.create(model=MODEL, instructions=runbook, input="Hello.")
    second = api.client.responses.create(model=MODEL, instructions=runbook, input="Status?")
    assert first.usage is not None and second.usage is not None
    assert first.usage.input_tokens > 1024
    assert first.usage.input_tokens_details.cached_tokens == 0
    cached = second.usage.input_tokens_details.cached_tokens
    assert cached >= 1024 and cached % 128 == 0 and cached < second.usage.input_tokens
    record = api.sim.billing.by_request()[second.id]
    assert record.cache_read_tokens == cached
    assert record.input_tokens == second.usage.input_tokens - cached


def test_429_then_success_with_sdk_retries(api: Api) -> None:
    api.sim.set_faults(FaultPlan.scripted(["429"]))
    r = api.make(max_retries=2).responses.create(model=MODEL, input=ASK)
    assert r.status == "completed"
    assert api.sim.summary().errors == {"429 rate_limit_exceeded": 1}
    assert [rec.request_id for rec in api.sim.billing.records] == [r.id]
    with pytest.raises(openai.RateLimitError):
        api.sim.set_faults(FaultPlan.scripted(["429"]))
        api.client.responses.create(model=MODEL, input=ASK)


def test_rate_limit_headers(client: openai.OpenAI) -> None:
    raw = client.responses.with_raw_response.create(model=MODEL, input=ASK)
    assert raw.headers["x-ratelimit-limit-requests"] and raw.headers["x-request-id"]
    assert raw.parse().status == "completed"


def test_input_tokens_count_matches_usage(api: Api) -> None:
    tools: Any = [STATUS_TOOL]
    count = api.client.responses.input_tokens.count(
        model=MODEL, input=ASK, instructions="Be brief.", tools=tools
    )
    r = api.client.responses.create(model=MODEL, input=ASK, instructions="Be brief.", tools=tools)
    assert count.object == "response.input_tokens"
    assert r.usage is not None and count.input_tokens == r.usage.input_tokens
    assert api.sim.billing.by_request().keys() == {r.id}  # counting is not billed


@pytest.mark.parametrize(
    ("kwargs", "status", "param"),
    [
        ({"model": "gpt-nope", "input": ASK}, 404, "model"),
        ({"model": MODEL, "input": ASK, "temperature": 3}, 400, "temperature"),
        (
            {
                "model": MODEL,
                "input": [{"type": "function_call_output", "call_id": "call_x", "output": "1"}],
            },
            400,
            "input",
        ),
        (
            {
                "model": MODEL,
                "input": [
                    {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}
                ],
            },
            400,
            "input",
        ),
        ({"model": MODEL, "input": ASK, "tools": [{"type": "web_search"}]}, 400, "tools[0].type"),
        ({"model": MODEL, "input": ASK, "tool_choice": "required"}, 400, "tool_choice"),
        ({"model": MODEL}, 400, "input"),
        ({"model": MODEL, "input": ASK, "seed": 1}, 400, "seed"),
    ],
)
def test_errors_in_openai_shape(api: Api, kwargs: dict[str, Any], status: int, param: str) -> None:
    http = sdk_http("openai")
    base = api.base_url or "https://api.openai.com/v1"
    with http.Client() as raw:
        response = raw.post(
            f"{base}/responses", json=kwargs, headers={"authorization": "Bearer test"}
        )
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["param"] == param
    assert error["type"] == "invalid_request_error" and response.headers["x-request-id"]
    with pytest.raises(openai.APIStatusError) as caught:
        known = {k: v for k, v in kwargs.items() if k != "seed"}
        extra = {k: v for k, v in kwargs.items() if k == "seed"}  # not an SDK argument
        api.client.responses.create(**known, extra_body=extra)
    assert caught.value.status_code == status


@pytest.mark.parametrize(
    ("strict", "extra", "expected"),
    [(None, None, True), (None, True, False), (False, None, False)],
)
def test_omitted_strict_is_normalized_when_possible(
    client: openai.OpenAI, strict: bool | None, extra: bool | None, expected: bool
) -> None:
    params: dict[str, Any] = {"type": "object", "properties": {"service": {"type": "string"}}}
    if extra is not None:
        params["additionalProperties"] = extra
    tool: Any = {"type": "function", "name": "get_service_status", "parameters": params}
    if strict is not None:
        tool["strict"] = strict
    r = client.responses.create(model=MODEL, input=STATUS_ASK, tools=[tool])
    assert r.tools[0].strict is expected  # type: ignore[union-attr]


def test_an_explicitly_strict_tool_with_an_open_object_is_a_400(client: openai.OpenAI) -> None:
    params = {
        "type": "object",
        "properties": {"service": {"type": "string"}},
        "additionalProperties": True,
    }
    tool: Any = {"type": "function", "name": "t", "parameters": params, "strict": True}
    with pytest.raises(openai.BadRequestError, match="additionalProperties"):
        client.responses.create(model=MODEL, input=STATUS_ASK, tools=[tool])


def test_instructor_responses_tools_mode(sim: Simulator) -> None:
    instructor = pytest.importorskip("instructor")
    patched = instructor.from_openai(
        openai.OpenAI(api_key="test"), mode=instructor.Mode.RESPONSES_TOOLS
    )
    triage = patched.responses.create(
        model=MODEL, input="Payments are down for all customers.", response_model=Triage
    )
    assert triage.model_dump() == {
        "severity": "sev1",
        "service": "payments",
        "summary": "Payments are down for all customers.",
        "needs_human": True,
    }
    assert sim.upstream_calls == 1


def test_same_prompt_same_input_tokens_and_cache_as_chat(client: openai.OpenAI) -> None:
    runbook = " ".join(
        f"Rule {i}: page the owner of a sev1 within five minutes." for i in range(150)
    )
    chat = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "developer", "content": runbook}, {"role": "user", "content": ASK}],
    )
    r = client.responses.create(model=MODEL, instructions=runbook, input=ASK)
    assert chat.usage is not None and r.usage is not None
    assert r.usage.input_tokens == chat.usage.prompt_tokens
    assert r.usage.input_tokens_details.cached_tokens >= 1024  # the chat call wrote the prefix


def test_store_bound_by_bytes() -> None:
    from llmlab.sim.wire._openai_responses import ResponseStore, _Stored

    store = ResponseStore(max_entries=100, max_bytes=250)
    for i in range(5):
        store.put("key", f"resp_{i}", _Stored({"id": f"resp_{i}"}, [], 100))
    assert len(store) == 2 and store.get("key", "resp_4") and not store.get("key", "resp_2")
    assert store.get("other key", "resp_4") is None  # responses are per API key
    assert store.delete("key", "resp_4") and len(store) == 1


def test_stream_with_text_format_parses(client: openai.OpenAI) -> None:
    report = "Checkout is degraded for many customers: elevated errors since 10:02."
    with client.responses.stream(model=MODEL, input=report, text_format=Triage) as stream:
        done = [e for e in stream if e.type == "response.output_text.done"]
        final = stream.get_final_response()
    assert isinstance(final.output_parsed, Triage) and final.output_parsed.service == "checkout"
    assert done[0].parsed == final.output_parsed  # type: ignore[union-attr]


async def test_async_stream(sim: Simulator) -> None:
    client = openai.AsyncOpenAI(api_key="test")
    async with client.responses.stream(model=MODEL, input=ASK) as stream:
        deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert "".join(deltas) == final.output_text


FUZZ_BASE: dict[str, Any] = {
    "model": MODEL,
    "instructions": "Be brief. Answer in json.",
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": STATUS_ASK}]},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_service_status",
            "arguments": "{}",
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "healthy"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "It is healthy."}]},
        {"role": "user", "content": "Thanks"},
    ],
    "tools": [STATUS_TOOL],
    "tool_choice": "auto",
    "text": {"format": {"type": "json_object"}},
    "temperature": 0.5,
    "max_output_tokens": 16,
    "store": True,
    "stream": False,
}


@st.composite
def mutated_body(draw: st.DrawFn) -> dict[str, Any]:
    """FUZZ_BASE with one to three values replaced, deleted or added."""
    body = json.loads(json.dumps(FUZZ_BASE))
    body["stream"] = draw(st.booleans())
    mutate(draw, body)
    tokens = body.get("max_output_tokens")
    if isinstance(tokens, int) and tokens > 32:
        body["max_output_tokens"] = 32  # a valid long reply is correct but slow to generate
    return body


@SETTINGS
@given(body=mutated_body(), path=st.sampled_from(["/v1/responses", "/v1/responses/input_tokens"]))
def test_mutated_bodies_never_crash(body: dict[str, Any], path: str) -> None:
    from llmlab.sim import mock

    with mock(seed=0, time_scale=1e-6):
        response = httpx.post(
            f"https://api.openai.com{path}",
            content=json.dumps(body).encode(),
            headers={"authorization": "Bearer test", "content-type": "application/json"},
        )
        _check("openai", response)
