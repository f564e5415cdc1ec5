"""Contract tests: the real ``anthropic`` SDK against the in-process simulator."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest

from llmlab.sim import MODELS, Simulator

MODEL = "claude-sonnet-4-6"
URL = "https://api.anthropic.com/v1/messages"
USER = [{"role": "user", "content": "Summarise the checkout incident runbook in a sentence."}]
STATUS_TOOL: dict[str, Any] = {
    "name": "get_service_status",
    "description": "Current health of one Northwind Cloud service.",
    "input_schema": {
        "type": "object",
        "properties": {"service": {"type": "string"}},
        "required": ["service"],
    },
}
TRIAGE_TOOL: dict[str, Any] = {
    "name": "triage",
    "description": "Record an incident triage.",
    "input_schema": {
        "type": "object",
        "properties": {
            "severity": {"type": "string", "enum": ["sev1", "sev2", "sev3", "sev4"]},
            "service": {"type": "string"},
            "summary": {"type": "string"},
            "needs_human": {"type": "boolean"},
        },
        "required": ["severity", "service", "summary", "needs_human"],
    },
}


@pytest.fixture
def client(sim: Simulator) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="test", max_retries=0)


@pytest.fixture
def aclient(sim: Simulator) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key="test", max_retries=0)


#: sampling parameters exist only under the legacy API version (2023-06-01); the current one
#: (2026-10-21, anthropic >= 2) answers 400 for them. Tests of sampling ask for the old version.
LEGACY_VERSION = {"anthropic-version": "2023-06-01"}
GREEDY: dict[str, Any] = {"extra_headers": LEGACY_VERSION, "extra_body": {"temperature": 0}}


def _sampled(**params: Any) -> dict[str, Any]:
    return {"extra_headers": LEGACY_VERSION, "extra_body": params}


def _text(message: anthropic.types.Message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


# -- messages.create ----------------------------------------------------------------------------
def test_create_sync_shape_and_usage(client: anthropic.Anthropic, sim: Simulator) -> None:
    msg = client.messages.create(model=MODEL, max_tokens=40, messages=USER)
    assert msg.id.startswith("msg_") and msg.type == "message" and msg.role == "assistant"
    assert msg.model == MODEL
    assert msg.stop_reason in ("end_turn", "max_tokens")
    assert msg.content and msg.content[0].type == "text" and _text(msg)
    assert 0 < msg.usage.output_tokens <= 40
    assert msg.usage.cache_creation_input_tokens == 0 and msg.usage.cache_read_input_tokens == 0
    assert msg.usage.cache_creation is not None
    assert msg.usage.cache_creation.ephemeral_5m_input_tokens == 0
    assert msg.usage.input_tokens > 0
    assert [r.request_id for r in sim.billing.records] == [msg.id]


async def test_create_async(aclient: anthropic.AsyncAnthropic) -> None:
    msg = await aclient.messages.create(model=MODEL, max_tokens=20, messages=USER)
    assert msg.id.startswith("msg_") and _text(msg)


def test_with_raw_response_headers(client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=10, messages=USER)
    assert raw.headers["request-id"].startswith("req_")
    assert raw.headers["anthropic-ratelimit-requests-limit"].isdigit()
    assert raw.parse().usage.output_tokens <= 10


def test_system_string_and_blocks_count_the_same(client: anthropic.Anthropic) -> None:
    text = "You are the Northwind Cloud on-call assistant."
    as_str = client.messages.count_tokens(model=MODEL, system=text, messages=USER)
    as_blocks = client.messages.count_tokens(
        model=MODEL, system=[{"type": "text", "text": text}], messages=USER
    )
    bare = client.messages.count_tokens(model=MODEL, messages=USER)
    assert as_str.input_tokens == as_blocks.input_tokens > bare.input_tokens
    for system in (text, [{"type": "text", "text": text}]):
        msg = client.messages.create(
            model=MODEL, max_tokens=10, system=system, messages=USER, **GREEDY
        )
        assert msg.usage.input_tokens == as_str.input_tokens


def test_content_blocks_and_image(client: anthropic.Anthropic) -> None:
    pixel = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
        "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    msg = client.messages.create(
        model=MODEL,
        max_tokens=20,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What does this dashboard show?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": pixel},
                    },
                ],
            }
        ],
    )
    assert _text(msg)


def test_prefill_multiturn(client: anthropic.Anthropic) -> None:
    msg = client.messages.create(
        model=MODEL,
        max_tokens=15,
        messages=[
            {"role": "user", "content": "Describe the outage."},
            {"role": "assistant", "content": "The outage"},
            {"role": "user", "content": [{"type": "text", "text": "Go on about the database."}]},
        ],
    )
    assert msg.usage.output_tokens <= 15


# -- tools --------------------------------------------------------------------------------------
def test_tool_use_round_trip(client: anthropic.Anthropic) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "What is the service status of checkout and payments?"}
    ]
    first = client.messages.create(
        model=MODEL, max_tokens=300, tools=[STATUS_TOOL], messages=messages
    )
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 2 and {u.input["service"] for u in uses} == {"checkout", "payments"}
    assert all(u.id.startswith("toolu_") and u.name == "get_service_status" for u in uses)
    assert len({u.id for u in uses}) == 2
    messages.append({"role": "assistant", "content": [b.model_dump() for b in first.content]})
    messages.append(
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": u.id, "content": f"{u.input} is healthy"}
                for u in uses
            ],
        }
    )
    second = client.messages.create(
        model=MODEL, max_tokens=300, tools=[STATUS_TOOL], messages=messages
    )
    assert second.stop_reason == "end_turn"
    assert _text(second) and not [b for b in second.content if b.type == "tool_use"]


@pytest.mark.parametrize("mode", ["auto", "any", "tool", "none"])
def test_tool_choice_modes(client: anthropic.Anthropic, mode: str) -> None:
    choice: dict[str, Any] = {"type": mode}
    if mode == "tool":
        choice["name"] = "triage"
    report = "Checkout is down for all customers."
    msg = client.messages.create(
        model=MODEL,
        max_tokens=300,
        tools=[STATUS_TOOL, TRIAGE_TOOL],
        tool_choice=choice,  # type: ignore[arg-type]
        messages=[{"role": "user", "content": report}],
    )
    uses = [b for b in msg.content if b.type == "tool_use"]
    if mode == "none":
        assert not uses and msg.stop_reason in ("end_turn", "max_tokens")
    elif mode == "auto":
        # no tool's name words in the text: the model answers in prose
        assert not uses and _text(msg)
    else:
        assert uses and msg.stop_reason == "tool_use"
    if mode == "tool":
        assert uses[0].name == "triage"
        assert uses[0].input["severity"] == "sev1" and uses[0].input["service"] == "checkout"
        assert set(uses[0].input) == {"severity", "service", "summary", "needs_human"}


def test_disable_parallel_tool_use(client: anthropic.Anthropic) -> None:
    msg = client.messages.create(
        model=MODEL,
        max_tokens=300,
        tools=[STATUS_TOOL],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        messages=[{"role": "user", "content": "service status of checkout and payments?"}],
    )
    assert len([b for b in msg.content if b.type == "tool_use"]) == 1


# -- sampling -----------------------------------------------------------------------------------
def test_stop_sequences(client: anthropic.Anthropic) -> None:
    free = client.messages.create(model=MODEL, max_tokens=60, messages=USER, **GREEDY)
    text = _text(free)
    words = text.split()
    stop = words[3]
    msg = client.messages.create(
        model=MODEL, max_tokens=60, messages=USER, stop_sequences=[stop], **GREEDY
    )
    assert msg.stop_reason == "stop_sequence" and msg.stop_sequence == stop
    assert stop not in _text(msg)
    assert text.startswith(_text(msg))


@pytest.mark.parametrize(
    ("stops", "message"),
    [
        (["\n\n"], "stop_sequences: each stop sequence must contain non-whitespace"),
        ([""], "stop_sequences: each stop sequence must be non-empty"),
        (["END", 3], "stop_sequences.1: Input should be a valid string"),
        ("END", "stop_sequences: Input should be a valid list"),
    ],
)
def test_bad_stop_sequences_are_named_as_the_api_names_them(
    client: anthropic.Anthropic, stops: Any, message: str
) -> None:
    """Anthropic refuses whitespace-only stop sequences (Chat Completions takes "\n\n")."""
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(model=MODEL, max_tokens=8, messages=USER, stop_sequences=stops)
    assert info.value.body["error"]["message"] == message


def test_max_tokens_stop_reason(client: anthropic.Anthropic) -> None:
    msg = client.messages.create(model=MODEL, max_tokens=3, messages=USER)
    assert msg.stop_reason == "max_tokens" and msg.usage.output_tokens == 3


def test_temperature_zero_is_greedy_and_repeatable(client: anthropic.Anthropic) -> None:
    runs = {
        _text(client.messages.create(model=MODEL, max_tokens=30, messages=USER, **GREEDY))
        for _ in range(3)
    }
    assert len(runs) == 1
    top1 = _text(
        client.messages.create(model=MODEL, max_tokens=30, messages=USER, **_sampled(top_k=1))
    )
    assert runs == {top1}


def test_temperature_one_varies(client: anthropic.Anthropic) -> None:
    runs = {
        _text(
            client.messages.create(
                model=MODEL, max_tokens=30, messages=USER, **_sampled(temperature=1)
            )
        )
        for _ in range(4)
    }
    assert len(runs) > 1


# -- streaming ----------------------------------------------------------------------------------
def test_stream_text_and_final_message(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model=MODEL, max_tokens=40, messages=USER, **GREEDY) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text and text == _text(final)
    assert final.stop_reason in ("end_turn", "max_tokens")
    assert 0 < final.usage.output_tokens <= 40
    plain = client.messages.create(model=MODEL, max_tokens=40, messages=USER, **GREEDY)
    assert _text(plain) == text
    assert plain.usage.output_tokens == final.usage.output_tokens
    assert plain.usage.input_tokens == final.usage.input_tokens


def test_stream_event_order(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model=MODEL, max_tokens=10, messages=USER) as s:
        kinds = [e.type for e in s]
    raw = [k for k in kinds if k not in ("text",)]
    assert raw[0] == "message_start" and raw[-1] == "message_stop"
    assert raw.index("content_block_start") < raw.index("content_block_delta")
    assert raw.index("message_delta") > raw.index("content_block_stop")


def test_stream_tool_input_json(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model=MODEL,
        max_tokens=300,
        tools=[TRIAGE_TOOL],
        tool_choice={"type": "tool", "name": "triage"},
        messages=[{"role": "user", "content": "Payments are degraded for many customers."}],
    ) as s:
        partials = [e.partial_json for e in s if e.type == "input_json"]
        final = s.get_final_message()
    use = next(b for b in final.content if b.type == "tool_use")
    assert len(partials) > 1
    assert json.loads("".join(partials)) == use.input
    assert final.stop_reason == "tool_use" and use.input["severity"] == "sev2"


async def test_async_stream(aclient: anthropic.AsyncAnthropic) -> None:
    async with aclient.messages.stream(model=MODEL, max_tokens=20, messages=USER) as s:
        text = "".join([t async for t in s.text_stream])
        final = await s.get_final_message()
    assert text == _text(final)


def test_create_stream_true_raw_events(client: anthropic.Anthropic) -> None:
    events = list(client.messages.create(model=MODEL, max_tokens=8, messages=USER, stream=True))
    assert events[0].type == "message_start"
    assert events[0].message.stop_reason is None
    assert "ping" not in [e.type for e in events]  # the SDK drops pings
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.usage.output_tokens == 8 and delta.delta.stop_reason == "max_tokens"


# -- count_tokens and models --------------------------------------------------------------------
def test_count_tokens_matches_usage(client: anthropic.Anthropic) -> None:
    kwargs: dict[str, Any] = {
        "model": MODEL,
        "system": "You are terse.",
        "tools": [STATUS_TOOL],
        "messages": [{"role": "user", "content": "Is search healthy today?"}],
    }
    counted = client.messages.count_tokens(**kwargs).input_tokens
    msg = client.messages.create(max_tokens=50, **kwargs)
    usage = msg.usage
    total = (
        usage.input_tokens
        + (usage.cache_creation_input_tokens or 0)
        + (usage.cache_read_input_tokens or 0)
    )
    assert counted == total == usage.input_tokens


def test_count_tokens_with_cache_fields(client: anthropic.Anthropic, sim: Simulator) -> None:
    long_system = [
        {
            "type": "text",
            "text": "Runbook step: check the replica lag and page the owner. " * 150,
            "cache_control": {"type": "ephemeral"},
        }
    ]
    counted = client.messages.count_tokens(
        model=MODEL,
        system=long_system,
        messages=USER,  # type: ignore[arg-type]
    ).input_tokens
    first = client.messages.create(
        model=MODEL,
        max_tokens=5,
        system=long_system,
        messages=USER,  # type: ignore[arg-type]
    ).usage
    second = client.messages.create(
        model=MODEL,
        max_tokens=5,
        system=long_system,
        messages=USER,  # type: ignore[arg-type]
    ).usage
    assert first.cache_creation_input_tokens and first.cache_creation_input_tokens > 1024
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert first.input_tokens == second.input_tokens
    for u in (first, second):
        total = u.input_tokens + (u.cache_creation_input_tokens or 0)
        assert counted == total + (u.cache_read_input_tokens or 0)


def test_models_list_and_retrieve(client: anthropic.Anthropic) -> None:
    ids = [m.id for m in client.models.list()]
    assert MODEL in ids and ids == [m.id for m in MODELS.values() if m.provider == "anthropic"]
    assert client.models.retrieve(MODEL).id == MODEL
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-nonexistent")


# -- errors -------------------------------------------------------------------------------------
def _raw(body: Any, *, headers: dict[str, str] | None = None, content: bytes | None = None):
    hdrs = {"x-api-key": "test", "anthropic-version": "2023-06-01"}
    hdrs.update(headers or {})
    if content is not None:
        return httpx.post(URL, content=content, headers=hdrs)
    return httpx.post(URL, json=body, headers=hdrs)


def _assert_error(response: httpx.Response, status: int, kind: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["request_id"] == response.headers["request-id"]


def test_missing_max_tokens_raw(sim: Simulator) -> None:
    _assert_error(_raw({"model": MODEL, "messages": USER}), 400, "invalid_request_error")


def test_malformed_json_and_wrong_content_type(sim: Simulator) -> None:
    _assert_error(
        _raw(None, content=b'{"model": ', headers={"content-type": "application/json"}),
        400,
        "invalid_request_error",
    )
    _assert_error(
        _raw(None, content=b"model=x", headers={"content-type": "text/plain"}),
        400,
        "invalid_request_error",
    )


def test_no_key_header_is_401(sim: Simulator) -> None:
    r = httpx.post(URL, json={"model": MODEL, "max_tokens": 5, "messages": USER})
    _assert_error(r, 401, "authentication_error")
    client = anthropic.Anthropic(api_key="test", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        # the SDK sends no key header when it is explicitly omitted
        client.messages.create(
            model=MODEL,
            max_tokens=5,
            messages=USER,
            # anthropic < 2 sends x-api-key, anthropic >= 2 Authorization: Bearer
            extra_headers={"X-Api-Key": anthropic.Omit(), "Authorization": anthropic.Omit()},
        )
    assert info.value.status_code == 401


def test_sdk_refuses_missing_max_tokens_client_side(client: anthropic.Anthropic) -> None:
    with pytest.raises(TypeError):
        client.messages.create(model=MODEL, messages=USER)  # type: ignore[call-arg]


BAD_REQUESTS: dict[str, dict[str, Any]] = {
    "empty messages": {"messages": []},
    "max_tokens over limit": {"max_tokens": 10_000_000},
    "prompt too long": {"messages": [{"role": "user", "content": "outage " * 1_000_001}]},
    "invalid tool schema": {
        "tools": [{"name": "x", "description": "d", "input_schema": {"type": "string"}}]
    },
    "bad tool name": {"tools": [{"name": "has space", "input_schema": {"type": "object"}}]},
    "orphan tool_result": {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "ok"}],
            }
        ]
    },
    "5 cache_control breakpoints": {
        "system": [
            {"type": "text", "text": f"part {i}", "cache_control": {"type": "ephemeral"}}
            for i in range(5)
        ]
    },
    "temperature above 1": _sampled(temperature=1.5),
    "unknown block type": {"messages": [{"role": "user", "content": [{"type": "audio"}]}]},
    "bad role": {"messages": [{"role": "system", "content": "hi"}]},
    "tool_choice names unknown tool": {
        "tools": [STATUS_TOOL],
        "tool_choice": {"type": "tool", "name": "nope"},
    },
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_requests_raise_bad_request_error(client: anthropic.Anthropic, case: str) -> None:
    kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": 50, "messages": USER}
    kwargs.update(BAD_REQUESTS[case])
    with pytest.raises(anthropic.BadRequestError) as info:
        if kwargs["max_tokens"] > 21_333:  # the SDK insists on streaming for long outputs
            client.messages.create(**kwargs, stream=True)
        else:
            client.messages.create(**kwargs)
    assert info.value.status_code == 400
    body = info.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"


def test_unknown_model_is_not_found(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        client.messages.create(model="claude-nope-9", max_tokens=5, messages=USER)
    assert info.value.status_code == 404
    with pytest.raises(anthropic.NotFoundError):
        client.messages.count_tokens(model="claude-nope-9", messages=USER)


def test_four_breakpoints_are_fine(client: anthropic.Anthropic) -> None:
    system = [
        {"type": "text", "text": f"part {i}", "cache_control": {"type": "ephemeral"}}
        for i in range(4)
    ]
    msg = client.messages.create(
        model=MODEL,
        max_tokens=5,
        system=system,
        messages=USER,  # type: ignore[arg-type]
    )
    assert msg.usage.cache_creation_input_tokens == 0  # below the minimum: nothing cached


def test_unknown_path_is_404(sim: Simulator) -> None:
    r = httpx.get(
        "https://api.anthropic.com/v1/nothing",
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
    )
    _assert_error(r, 404, "not_found_error")


def test_is_error_tool_result_gets_a_corrected_call(
    client: anthropic.Anthropic, sim: Simulator
) -> None:
    from llmlab.sim import Behaviour

    sim.set_behaviour(Behaviour(schema_errors=1))
    ask: list[dict[str, Any]] = [{"role": "user", "content": "Checkout is down for all customers."}]
    forced: Any = {"type": "tool", "name": "triage"}
    first = client.messages.create(
        model=MODEL, max_tokens=300, tools=[TRIAGE_TOOL], tool_choice=forced, messages=ask
    )
    use = next(b for b in first.content if b.type == "tool_use")
    assert not _valid_triage(use.input)  # the injected error
    retry = [
        *ask,
        {"role": "assistant", "content": [use.model_dump()]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": use.id,
                    "is_error": True,
                    "content": "Validation error: the triage does not match its schema; "
                    "fix the errors",
                }
            ],
        },
    ]
    second = client.messages.create(
        model=MODEL, max_tokens=300, tools=[TRIAGE_TOOL], tool_choice=forced, messages=retry
    )
    fixed = next(b for b in second.content if b.type == "tool_use")
    assert _valid_triage(fixed.input)
    assert fixed.input["severity"] == "sev1" and fixed.input["service"] == "checkout"


def _valid_triage(data: dict[str, Any]) -> bool:
    from typing import Literal

    import pydantic

    class Triage(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        severity: Literal["sev1", "sev2", "sev3", "sev4"]
        service: str
        summary: str
        needs_human: bool

    try:
        Triage.model_validate(data, strict=True)
    except pydantic.ValidationError:
        return False
    return True
