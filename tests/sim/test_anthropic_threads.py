"""Message threads: the SDK's tool runner (``thread`` create/continue) runs to the end.

anthropic 2.x's ``client.beta.messages.tool_runner`` threads by default; anthropic 0.93's
runner sends the whole history each turn. Both must finish, in-process and over HTTP. Raw
requests pin the documented errors the SDK recovers from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

import llmlab.sim
from llmlab.sim.testing import SimServer

MODEL = "claude-sonnet-4-6"
SDK_MAJOR = int(anthropic.__version__.split(".")[0])
URL = "https://api.anthropic.com/v1/messages"
HEADERS = {
    "x-api-key": "test",
    "anthropic-version": "2026-10-21",
    "anthropic-beta": "message-threads-2026-08-12",
}
TOOL = {
    "name": "get_status",
    "description": "Get the current status of a service.",
    "input_schema": {
        "type": "object",
        "properties": {"service": {"type": "string"}},
        "required": ["service"],
    },
}
ASK = [{"role": "user", "content": "What is the status of the checkout service?"}]


@pytest.fixture(params=["in-process", "http"])
def base_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "http":
        server: SimServer = request.getfixturevalue("sim_server")
        yield server.anthropic_base_url
    else:
        request.getfixturevalue("sim")
        yield None


def test_the_tool_runner_finishes(base_url: str | None) -> None:
    sent: list[dict[str, Any]] = []

    def remember(request: Any) -> None:
        sent.append(json.loads(request.read()))

    http_client = anthropic.DefaultHttpxClient(event_hooks={"request": [remember]})
    client = anthropic.Anthropic(api_key="test", base_url=base_url, http_client=http_client)
    calls: list[str] = []

    @anthropic.beta_tool
    def get_status(service: str) -> str:
        """Get the current status of a service."""
        calls.append(service)
        return json.dumps({"service": service, "status": "degraded"})

    runner = client.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=500,
        system="You are the on-call assistant.",
        tools=[get_status],
        messages=ASK,  # type: ignore[arg-type]
    )
    replies = list(runner)
    assert [r.stop_reason for r in replies] == ["tool_use", "end_turn"]
    assert calls == ["checkout"]
    assert "degraded" in replies[-1].content[0].text  # type: ignore[union-attr]
    assert len(sent) == 2
    if SDK_MAJOR >= 2:
        assert sent[0]["thread"] == {"type": "create"}
        second = sent[1]
        assert second["thread"] == {"type": "continue", "previous_message_id": replies[0].id}
        assert "system" not in second and "tools" not in second
        assert [m["content"][0]["type"] for m in second["messages"]] == ["tool_result"]


def _post(body: dict[str, Any]) -> httpx.Response:
    return httpx.post(URL, json=body, headers=HEADERS)


def _create() -> tuple[dict[str, Any], dict[str, Any]]:
    body = {"model": MODEL, "max_tokens": 300, "tools": [TOOL], "messages": ASK}
    first = _post({**body, "thread": {"type": "create"}}).json()
    assert first["stop_reason"] == "tool_use"
    return body, first


def _result(reply: dict[str, Any]) -> list[dict[str, Any]]:
    use = next(b for b in reply["content"] if b["type"] == "tool_use")
    block = {"type": "tool_result", "tool_use_id": use["id"], "content": "degraded"}
    return [{"role": "user", "content": [block]}]


def _continue(reply: dict[str, Any], **extra: Any) -> dict[str, Any]:
    thread = {"type": "continue", "previous_message_id": reply["id"]}
    return {
        "model": MODEL,
        "max_tokens": 300,
        "thread": thread,
        "messages": _result(reply),
        **extra,
    }


def test_a_continue_answers_as_the_full_conversation_would() -> None:
    with llmlab.sim.mock(seed=3, time_scale=1e-6):
        body, first = _create()
        threaded = _post(_continue(first)).json()
    assistant = {"role": "assistant", "content": first["content"]}
    full = {**body, "messages": [*ASK, assistant, *_result(first)]}
    with llmlab.sim.mock(seed=3, time_scale=1e-6):
        _create()
        unthreaded = _post(full).json()
    assert threaded["content"] == unthreaded["content"]
    assert threaded["usage"] == unthreaded["usage"]


def _details(response: httpx.Response) -> tuple[int, str | None]:
    error = response.json()["error"]
    return response.status_code, (error.get("details") or {}).get("error_code")


def test_thread_errors_carry_the_codes_the_sdk_recovers_from() -> None:
    with llmlab.sim.mock(seed=0, time_scale=1e-6):
        body, first = _create()
        unknown = {**first, "id": "msg_01unknown"}
        assert _details(_post(_continue(unknown))) == (404, "thread_not_found")
        assert _post(_continue(first)).status_code == 200
        assert _details(_post(_continue(first))) == (400, "thread_already_continued")
        _, other = _create()
        wrong_model = _continue(other, model="claude-haiku-4-5")
        assert _details(_post(wrong_model)) == (400, "thread_fingerprint_mismatch")
        repeated = _post(_continue(other, system="again"))
        assert repeated.status_code == 400 and "system" in repeated.json()["error"]["message"]
        bad = _post({**body, "thread": {"type": "resume"}})
        assert bad.status_code == 400 and "thread.type" in bad.json()["error"]["message"]
