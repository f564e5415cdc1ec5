"""No request body crashes the simulator: random and mutated bodies get a 4xx (or a valid 200).

Bodies are POSTed with plain httpx to every POST endpoint (Messages and its token count, Chat
Completions, Responses and its token count, embeddings), in-process and over real HTTP
(``python -m llmlab.sim serve``'s app on a loopback port); every answer must be either a
well-formed success or a 4xx with the provider's own error body, never a 5xx or an exception
escaping the simulator. The mutated bodies include the newer features (thinking, structured
outputs, threads, cache TTLs, images), and pathological JSON (deep nesting, lone surrogates).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmlab.sim
from llmlab.sim import Simulator
from llmlab.sim.testing import SimServer, serving

ENDPOINTS = {
    "anthropic": "https://api.anthropic.com/v1/messages",
    "anthropic-count": "https://api.anthropic.com/v1/messages/count_tokens",
    "openai": "https://api.openai.com/v1/chat/completions",
    "openai-responses": "https://api.openai.com/v1/responses",
    "openai-responses-count": "https://api.openai.com/v1/responses/input_tokens",
    "openai-embeddings": "https://api.openai.com/v1/embeddings",
}
HEADERS = {
    "anthropic": {"x-api-key": "test", "anthropic-version": "2023-06-01"},
    "openai": {"authorization": "Bearer test"},
}
TOOL_A = {"name": "get_status", "input_schema": {"type": "object", "properties": {}}}
TOOL_O = {"type": "function", "function": {"name": "get_status", "parameters": {"type": "object"}}}
BASE: dict[str, dict[str, Any]] = {
    "anthropic": {
        "model": "claude-sonnet-4-6",
        "max_tokens": 16,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "What is the status of checkout? Reply in JSON."},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get_status", "input": {}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "healthy"},
                    {"type": "text", "text": "thanks"},
                ],
            },
        ],
        "tools": [TOOL_A],
        "tool_choice": {"type": "auto"},
        "temperature": 0.5,
        "top_k": 5,
        "stop_sequences": ["END"],  # a whitespace-only stop sequence is a 400
        "stream": False,
    },
    "openai": {
        "model": "gpt-4.1-mini",
        "max_tokens": 16,
        "messages": [
            {"role": "system", "content": "Be brief. Answer in json."},
            {"role": "user", "content": "What is the status of checkout?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_status", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "healthy"},
        ],
        "tools": [TOOL_O],
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "temperature": 0.5,
        "n": 2,
        "logprobs": True,
        "top_logprobs": 2,
        "stop": ["\n\n"],
        "stream": False,
        "stream_options": {"include_usage": True},
    },
}

PNG = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
    "rkJggg=="
)
SCHEMA = {
    "type": "object",
    "properties": {"service": {"type": "string"}, "down": {"type": "boolean"}},
    "required": ["service", "down"],
    "additionalProperties": False,
}
BASE["anthropic-features"] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 2048,
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}},
    "thread": {"type": "create"},
    "cache_control": {"type": "ephemeral", "ttl": "1h"},
    "metadata": {"user_id": "u1"},
    "messages": [
        {
            "role": "user",
            "content": [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                },
                {"type": "text", "text": "Is checkout down?"},
            ],
        }
    ],
}
BASE["openai-features"] = {
    "model": "gpt-4.1-mini",
    "max_completion_tokens": 32,
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Is checkout down?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            ],
        }
    ],
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "Status", "strict": True, "schema": SCHEMA},
    },
    "logit_bias": {"1234": -5},
    "seed": 7,
    "prompt_cache_key": "k",
    "user": "u1",
    "stream": False,
    "stream_options": {"include_usage": True},
}

BASE["openai-responses"] = {
    "model": "gpt-4.1-mini",
    "instructions": "Be brief.",
    "input": [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Is checkout down?"},
                {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
            ],
        },
        {"type": "function_call", "call_id": "call_1", "name": "get_status", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "healthy"},
        {"role": "assistant", "content": "Checkout is healthy."},
    ],
    "tools": [
        {
            "type": "function",
            "name": "get_status",
            "description": "Status of one service.",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
        }
    ],
    "tool_choice": "auto",
    "text": {"format": {"type": "json_schema", "name": "Status", "schema": SCHEMA, "strict": True}},
    "max_output_tokens": 32,
    "temperature": 0.5,
    "top_p": 0.9,
    "store": True,
    "metadata": {"team": "payments"},
    "prompt_cache_key": "k",
    "parallel_tool_calls": True,
    "truncation": "disabled",
    "stream": False,
}
BASE["openai-embeddings"] = {
    "model": "text-embedding-3-small",
    "input": ["checkout is down", "payments are slow"],
    "dimensions": 256,
    "encoding_format": "float",
    "user": "u1",
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**9), max_value=10**9)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["user", "assistant", "tool", "text", "tool_use", "auto", "object"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=8)
            | st.sampled_from(["type", "role", "content", "name", "text", "id"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def mutate(draw: st.DrawFn, body: dict[str, Any]) -> None:
    """Replace, delete or add one to three values anywhere in ``body``, in place."""
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(body) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(json_values)
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
        else:
            parent.append(draw(json_values))


_GENERATION_ONLY = ("max_tokens", "temperature", "top_k", "stop_sequences", "stream")


def _base(endpoint: str) -> dict[str, Any]:
    """A fresh copy of the valid body ``endpoint`` starts from (a token count takes no
    generation parameters)."""
    body: dict[str, Any] = json.loads(json.dumps(BASE[endpoint.replace("-count", "")]))
    if endpoint.endswith("-count"):
        for name in _GENERATION_ONLY:
            body.pop(name, None)
    return body


@st.composite
def mutated(draw: st.DrawFn, endpoint: str) -> dict[str, Any]:
    body = _base(endpoint)
    streams = not (endpoint.endswith("-count") or endpoint == "openai-embeddings")
    if streams and draw(st.booleans()):
        body["stream"] = True
    else:
        body.pop("stream_options", None)  # only allowed when streaming
    mutate(draw, body)
    return body


def _tame(body: Any) -> Any:
    """Keep valid requests small (a valid 64,000-token reply is correct but slow to generate)."""
    if isinstance(body, dict):
        for name in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
            value = body.get(name)
            if isinstance(value, int) and 32 < value <= 200_000:
                body[name] = 32
        if isinstance(body.get("n"), int) and 3 < body["n"] <= 128:
            body["n"] = 3
    return body


def _check(provider: str, response: httpx.Response) -> None:
    status = response.status_code
    assert status < 500, (status, response.text)
    if status == 200:
        if response.headers["content-type"].startswith("text/event-stream"):
            assert response.text.strip()
        else:
            assert isinstance(response.json(), dict)
        return
    assert 400 <= status < 500, status
    body = response.json()
    if provider == "anthropic":
        assert body["type"] == "error" and isinstance(body["request_id"], str)
        assert isinstance(body["error"]["type"], str)
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    else:
        err = body["error"]
        assert set(err) == {"message", "type", "param", "code"}
        assert isinstance(err["message"], str) and err["message"]
        assert isinstance(err["type"], str)


def _provider(endpoint: str) -> str:
    return "openai" if endpoint.startswith("openai") else "anthropic"


def _post(endpoint: str, content: bytes, content_type: str) -> None:
    provider = _provider(endpoint)
    headers = {**HEADERS[provider], "content-type": content_type}
    with llmlab.sim.mock(seed=0, time_scale=1e-6):
        response = httpx.post(ENDPOINTS[endpoint], content=content, headers=headers)
        _check(provider, response)


ENDPOINTS["anthropic-features"] = ENDPOINTS["anthropic"]
ENDPOINTS["openai-features"] = ENDPOINTS["openai"]
ENDPOINT = st.sampled_from(sorted(ENDPOINTS))
SETTINGS = settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(endpoint=ENDPOINT, data=st.data())
def test_mutated_bodies(endpoint: str, data: st.DataObject) -> None:
    body = _tame(data.draw(mutated(endpoint)))
    _post(endpoint, json.dumps(body).encode(), "application/json")


@SETTINGS
@given(endpoint=ENDPOINT, body=json_values)
def test_random_json(endpoint: str, body: Any) -> None:
    _post(endpoint, json.dumps(_tame(body)).encode(), "application/json")


@settings(max_examples=40, deadline=None)
@given(
    endpoint=ENDPOINT,
    content=st.binary(max_size=64) | st.text(max_size=64).map(str.encode),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "", "application/json; charset=utf-8"]
    ),
)
def test_random_bytes(endpoint: str, content: bytes, content_type: str) -> None:
    _post(endpoint, content, content_type)


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with serving(Simulator(seed=0, time_scale=1e-6)) as running:
        yield running


def _http_url(server: SimServer, endpoint: str) -> str:
    base = server.anthropic_base_url if _provider(endpoint) == "anthropic" else server.base_url
    path = ENDPOINTS[endpoint].split(".com", 1)[1]
    return base + ("/openai" if _provider(endpoint) == "openai" else "") + path


HTTP_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@HTTP_SETTINGS
@given(endpoint=ENDPOINT, data=st.data())
def test_mutated_bodies_over_http(server: SimServer, endpoint: str, data: st.DataObject) -> None:
    body = _tame(data.draw(mutated(endpoint)))
    provider = _provider(endpoint)
    headers = {**HEADERS[provider], "content-type": "application/json"}
    response = httpx.post(_http_url(server, endpoint), json=body, headers=headers, timeout=60)
    _check(provider, response)


surrogates = st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3)


@st.composite
def pathological(draw: st.DrawFn) -> bytes:
    """Deeply nested arrays/objects, or lone surrogates, somewhere in an otherwise fine body."""
    if draw(st.booleans()):
        depth = draw(st.integers(150, 4000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = opener * depth + "1" * (opener != "[") + closer * depth
        return ('{"model": "gpt-4.1-mini", "messages": ' + inner + "}").encode()
    text = draw(st.text(max_size=5)) + draw(surrogates)
    field = draw(st.sampled_from(["content", "model", "key"]))
    message = {"role": "user", "content": "hi"}
    body: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": [message]}
    if field == "content":
        message["content"] = text
    elif field == "model":
        body["model"] = text
    else:
        body[text] = 1
    return json.dumps(body).encode()  # ensure_ascii writes the surrogates as \udxxx escapes


@settings(max_examples=30, deadline=None)
@given(endpoint=ENDPOINT, content=pathological())
def test_pathological_json(endpoint: str, content: bytes) -> None:
    _post(endpoint, content, "application/json")


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_the_unmutated_bodies_succeed(endpoint: str) -> None:
    """The fuzzing starts from valid requests: each base body is answered 200 as it stands."""
    body = _base(endpoint)
    body.pop("stream_options", None)  # only allowed when streaming
    provider = _provider(endpoint)
    with llmlab.sim.mock(seed=0, time_scale=1e-6):
        response = httpx.post(ENDPOINTS[endpoint], json=body, headers=HEADERS[provider])
    assert response.status_code == 200, response.text
