"""Strict request validation on both providers, as the real APIs: unknown fields, types, ranges.

Every field the installed SDK's ``MessageCreateParams`` / ``CompletionCreateParams`` declares is
accepted (the lists in ``llmlab/sim/wire/_validate.py`` cover both generations); anything else is a
400 naming the field. Raw HTTP in-process and over ``python -m llmlab.sim serve``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import pytest

from llmlab.sim.testing import SimServer
from llmlab.sim.wire._validate import (
    ANTHROPIC_COUNT_FIELDS,
    ANTHROPIC_MESSAGE_FIELDS,
    MAX_BODY_BYTES,
    OPENAI_CHAT_FIELDS,
)

Post = Callable[..., httpx.Response]
A_MODEL, O_MODEL = "claude-sonnet-4-6", "gpt-4.1-mini"
USER = [{"role": "user", "content": "What is the status of checkout?"}]
PNG = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
    "rkJggg=="
)


def _keys(typed_dict: Any) -> set[str]:
    keys: set[str] = set()
    for base in typed_dict.__mro__:
        keys |= set(getattr(base, "__annotations__", {}))
    return keys


def _sdk_fields() -> dict[str, set[str]]:
    from anthropic.types import message_count_tokens_params, message_create_params
    from openai.types.chat import completion_create_params

    out = {
        "anthropic": _keys(message_create_params.MessageCreateParamsNonStreaming)
        | _keys(message_create_params.MessageCreateParamsStreaming),
        "anthropic-count": _keys(message_count_tokens_params.MessageCountTokensParams),
        "openai": _keys(completion_create_params.CompletionCreateParamsNonStreaming)
        | _keys(completion_create_params.CompletionCreateParamsStreaming),
    }
    try:
        from anthropic.types.beta import message_count_tokens_params as beta_count
        from anthropic.types.beta import message_create_params as beta_create
    except ImportError:  # pragma: no cover - every supported generation has the beta params
        return out
    out["anthropic"] |= _keys(beta_create.MessageCreateParamsNonStreaming) - {"betas"}
    out["anthropic-count"] |= _keys(beta_count.MessageCountTokensParams) - {"betas"}
    return out


SDK_FIELDS = _sdk_fields()
#: the API version the installed SDK sends (sampling parameters exist only under 2023-06-01)
VERSION = "2026-10-21" if int(anthropic.__version__.split(".")[0]) >= 2 else "2023-06-01"


def test_every_sdk_field_is_in_the_allowed_lists() -> None:
    assert SDK_FIELDS["anthropic"] <= ANTHROPIC_MESSAGE_FIELDS
    assert SDK_FIELDS["anthropic-count"] <= ANTHROPIC_COUNT_FIELDS
    assert SDK_FIELDS["openai"] <= OPENAI_CHAT_FIELDS


@pytest.fixture(params=["in-process", "http"])
def post(request: pytest.FixtureRequest) -> Iterator[Post]:
    """``post(provider, body, path=...)``: raw HTTP to the simulator, in-process or served."""
    if request.param == "http":
        server: SimServer = request.getfixturevalue("sim_server")
        bases = {"anthropic": server.anthropic_base_url, "openai": server.openai_base_url[:-3]}
    else:
        request.getfixturevalue("sim")
        bases = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com"}

    def send(provider: str, body: Any, path: str | None = None, **kw: Any) -> httpx.Response:
        if provider == "anthropic":
            headers = {"x-api-key": "test", "anthropic-version": VERSION}
            path = path or "/v1/messages"
        else:
            headers = {"authorization": "Bearer test"}
            path = path or "/v1/chat/completions"
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["content-type"] = "application/json"
        return httpx.post(bases[provider] + path, content=content, headers=headers, timeout=60)

    yield send


def _unknown_field_refusal(response: httpx.Response) -> bool:
    if response.status_code != 400:
        return False
    message = response.json()["error"]["message"]
    return "Extra inputs are not permitted" in message or "Unrecognized request" in message


@pytest.mark.parametrize("endpoint", ["anthropic", "anthropic-count", "openai"])
def test_every_sdk_field_is_accepted(post: Post, endpoint: str) -> None:
    provider = "openai" if endpoint == "openai" else "anthropic"
    path = "/v1/messages/count_tokens" if endpoint == "anthropic-count" else None
    base: dict[str, Any] = {"model": A_MODEL if provider == "anthropic" else O_MODEL}
    base["messages"] = USER
    if endpoint == "anthropic":
        base["max_tokens"] = 8
    for field in sorted(SDK_FIELDS[endpoint]):
        response = post(provider, {**base, field: base.get(field)}, path)
        assert not _unknown_field_refusal(response), (field, response.text)


A_BASE = {"model": A_MODEL, "max_tokens": 16, "messages": USER}
O_BASE = {"model": O_MODEL, "max_tokens": 16, "messages": USER}
TOOL_A = {"name": "get_status", "input_schema": {"type": "object", "properties": {}}}


def _image_a(data: str, media: str = "image/png") -> list[dict[str, Any]]:
    source = {"type": "base64", "media_type": media, "data": data}
    return [{"role": "user", "content": [{"type": "image", "source": source}]}]


def _image_o(url: str) -> list[dict[str, Any]]:
    part = {"type": "image_url", "image_url": {"url": url}}
    return [{"role": "user", "content": [{"type": "text", "text": "what is it?"}, part]}]


def _schema_format(schema: dict[str, Any]) -> dict[str, Any]:
    spec = {"name": "Status", "strict": True, "schema": schema}
    return {"type": "json_schema", "json_schema": spec}


REFUSED: list[tuple[str, dict[str, Any], int, str]] = [
    ("anthropic", {**A_BASE, "foo": 1}, 400, "foo: Extra inputs are not permitted"),
    ("anthropic", {**A_BASE, "stream": "yes"}, 400, "stream: Input should be a valid boolean"),
    ("anthropic", {**A_BASE, "cache_control": {"type": "ephemeral", "ttl": "10m"}}, 400, "ttl"),
    (
        "anthropic",
        {
            **A_BASE,
            "system": [
                {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral", "ttl": 5}}
            ],
        },
        400,
        "system.0.cache_control.ttl",
    ),
    (
        "anthropic",
        {**A_BASE, "messages": [*USER, {"role": "assistant", "content": "The status is "}]},
        400,
        "final assistant content cannot end with trailing whitespace",
    ),
    ("anthropic", {**A_BASE, "messages": _image_a("not base64!")}, 400, "content.0.source.data"),
    ("anthropic", {**A_BASE, "messages": _image_a(PNG, "image/bmp")}, 400, "media_type"),
    (
        "anthropic",
        {**A_BASE, "tools": [TOOL_A], "tool_choice": {"type": "tool"}},
        400,
        "tool_choice.tool.name: Field required",
    ),
    (
        "anthropic",
        {**A_BASE, "messages": [{"role": "user", "content": [{"type": "video"}]}]},
        400,
        "'video'",
    ),
    ("openai", {**O_BASE, "foo": 1}, 400, "Unrecognized request argument supplied: foo"),
    ("openai", {**O_BASE, "stream": "true"}, 400, "'stream': expected a boolean"),
    (
        "openai",
        {**O_BASE, "messages": [{"role": "user", "content": None}]},
        400,
        "'messages[0].content': expected one of a string or array of objects, but got null",
    ),
    (
        "openai",
        {**O_BASE, "messages": [{"role": "user"}]},
        400,
        "Missing required parameter: 'messages[0].content'",
    ),
    ("openai", {**O_BASE, "logit_bias": {"1234": 101}}, 400, "between -100 and 100"),
    ("openai", {**O_BASE, "logit_bias": {"hello": 1}}, 400, "Invalid key in 'logit_bias'"),
    ("openai", {**O_BASE, "messages": _image_o("data:image/png;base64,@@@")}, 400, "image_url"),
    (
        "openai",
        {
            **O_BASE,
            "response_format": _schema_format(
                {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
            ),
        },
        400,
        "'additionalProperties' is required to be supplied and to be false",
    ),
    (
        "openai",
        {
            **O_BASE,
            "response_format": _schema_format(
                {
                    "type": "object",
                    "properties": {"ok": {"type": "boolean"}, "why": {"type": "string"}},
                    "required": ["ok"],
                    "additionalProperties": False,
                }
            ),
        },
        400,
        "Missing 'why'",
    ),
    (
        "openai",
        {
            **O_BASE,
            "tools": [{"type": "function", "function": {"name": "get_status"}}],
            "tool_choice": {"type": "function"},
        },
        400,
        "tool_choice.function.name",
    ),
    (
        "openai",
        {**O_BASE, "messages": [{"role": "user", "content": [{"type": "video"}]}]},
        400,
        "Invalid value: 'video'",
    ),
]


@pytest.mark.parametrize(("provider", "body", "status", "needle"), REFUSED)
def test_bad_requests_are_refused_naming_the_field(
    post: Post, provider: str, body: dict[str, Any], status: int, needle: str
) -> None:
    response = post(provider, body)
    assert response.status_code == status, response.text
    assert needle in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("provider", "body"),
    [
        ("anthropic", {**A_BASE, "messages": _image_a(PNG)}),
        ("anthropic", {**A_BASE, "cache_control": {"type": "ephemeral", "ttl": "1h"}}),
        ("anthropic", {**A_BASE, "messages": [*USER, {"role": "assistant", "content": "The"}]}),
        ("openai", {**O_BASE, "messages": _image_o(f"data:image/png;base64,{PNG}")}),
        ("openai", {**O_BASE, "logit_bias": {"1234": -100, "99": 100}}),
    ],
)
def test_valid_neighbours_are_accepted(post: Post, provider: str, body: dict[str, Any]) -> None:
    response = post(provider, body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_body_over_32_mb_is_a_413(post: Post, provider: str) -> None:
    padding = "x" * (MAX_BODY_BYTES + 16)
    body = {**(A_BASE if provider == "anthropic" else O_BASE), "messages": [{"role": "user"}]}
    body["messages"][0]["content"] = padding
    response = post(provider, json.dumps(body).encode())
    assert response.status_code == 413, response.text[:200]
    error = response.json()["error"]
    assert (error["type"] if provider == "anthropic" else error["code"]) == "request_too_large"
    # traceable like any other answer (its id is drawn from the body's length, not its bytes)
    header = "request-id" if provider == "anthropic" else "x-request-id"
    assert response.headers[header].startswith("req_"), dict(response.headers)


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
@pytest.mark.parametrize(
    "content",
    [
        b'{"model": "m", "messages": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        b'{"model": "m", "x": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"}",
        b'{"model": "m", "messages": [{"role": "user", "content": "\\ud800 lone"}]}',
        b'{"model": "m", "\\udfff": 1}',
    ],
    ids=["deep-list", "deep-object", "lone-surrogate", "surrogate-key"],
)
def test_pathological_json_is_a_400(post: Post, provider: str, content: bytes) -> None:
    response = post(provider, content)
    assert response.status_code == 400, response.text[:300]
