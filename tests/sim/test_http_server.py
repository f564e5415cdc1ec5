"""The same SDK code over real HTTP: the simulator served by uvicorn on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from typing import Any

import anthropic
import httpx
import instructor
import openai
import pytest
from pydantic import BaseModel

import llmlab.sim
from llmlab.sim.testing import SimServer

USER = [{"role": "user", "content": "Summarise the checkout incident runbook in a sentence."}]


class Triage(BaseModel):
    severity: str
    service: str
    summary: str
    needs_human: bool


def _anthropic(server: SimServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="test", base_url=server.anthropic_base_url, max_retries=0)


def _openai(server: SimServer) -> openai.OpenAI:
    return openai.OpenAI(api_key="test", base_url=server.openai_base_url, max_retries=0)


def test_anthropic_create_stream_count_models(sim_server: SimServer) -> None:
    client = _anthropic(sim_server)
    # greedy sampling, to compare stream and create, exists only under the legacy API version
    greedy: dict[str, Any] = {
        "extra_headers": {"anthropic-version": "2023-06-01"},
        "extra_body": {"temperature": 0},
    }
    msg = client.messages.create(model="claude-sonnet-4-6", max_tokens=30, messages=USER, **greedy)
    assert msg.id.startswith("msg_") and msg.content[0].type == "text"
    with client.messages.stream(
        model="claude-sonnet-4-6", max_tokens=30, messages=USER, **greedy
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == msg.content[0].text == final.content[0].text  # type: ignore[union-attr]
    counted = client.messages.count_tokens(model="claude-sonnet-4-6", messages=USER)
    assert counted.input_tokens == msg.usage.input_tokens
    assert "claude-sonnet-4-6" in [m.id for m in client.models.list()]
    assert [r.request_id for r in sim_server.sim.billing.records] == [msg.id, final.id]


async def test_anthropic_async_over_http(sim_server: SimServer) -> None:
    client = anthropic.AsyncAnthropic(
        api_key="test", base_url=sim_server.anthropic_base_url, max_retries=0
    )
    msg = await client.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=USER)
    async with client.messages.stream(
        model="claude-sonnet-4-6", max_tokens=10, messages=USER
    ) as stream:
        final = await stream.get_final_message()
    assert msg.usage.output_tokens > 0 and final.usage.output_tokens > 0
    await client.close()


def test_openai_create_stream_models(sim_server: SimServer) -> None:
    client = _openai(sim_server)
    c = client.chat.completions.create(
        model="gpt-4.1-mini",
        messages=USER,  # type: ignore[arg-type]
        temperature=0,
        max_tokens=30,
    )
    chunks = list(
        client.chat.completions.create(  # type: ignore[call-overload]
            model="gpt-4.1-mini",
            messages=USER,
            temperature=0,
            max_tokens=30,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == c.choices[0].message.content
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == c.usage.total_tokens  # type: ignore[union-attr]
    assert "gpt-4.1-mini" in [m.id for m in client.models.list()]


def test_instructor_over_http(sim_server: SimServer) -> None:
    client = instructor.from_openai(_openai(sim_server), mode=instructor.Mode.TOOLS)
    out = client.chat.completions.create(
        model="gpt-4.1-mini",
        response_model=Triage,
        messages=[{"role": "user", "content": "Checkout is down for all customers."}],
    )
    assert out.service == "checkout"


def test_errors_are_typed_over_http(sim_server: SimServer) -> None:
    with pytest.raises(anthropic.NotFoundError):
        _anthropic(sim_server).messages.create(model="claude-nope", max_tokens=5, messages=USER)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        _openai(sim_server).chat.completions.create(model="gpt-4.1-mini", messages=[])


def test_curl_like_raw_posts(sim_server: SimServer) -> None:
    a = httpx.post(
        f"{sim_server.anthropic_base_url}/v1/messages",
        headers={"x-api-key": "test", "anthropic-version": "2023-06-01"},
        json={"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": USER},
    )
    assert a.status_code == 200 and a.json()["type"] == "message"
    assert a.headers["request-id"].startswith("req_")
    o = httpx.post(
        f"{sim_server.openai_base_url}/chat/completions",
        headers={"authorization": "Bearer test"},
        json={"model": "gpt-4.1-mini", "max_tokens": 10, "messages": USER},
    )
    assert o.status_code == 200 and o.json()["object"] == "chat.completion"
    assert o.headers["x-request-id"]
    with httpx.stream(
        "POST",
        f"{sim_server.anthropic_base_url}/v1/messages",
        headers={"x-api-key": "test", "anthropic-version": "2026-10-21"},
        json={"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": USER, "stream": True},
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = [line[7:] for line in stream.iter_lines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop" and "ping" in events
    with httpx.stream(
        "POST",
        f"{sim_server.openai_base_url}/chat/completions",
        headers={"authorization": "Bearer test"},
        json={"model": "gpt-4.1-mini", "max_tokens": 5, "messages": USER, "stream": True},
    ) as stream:
        data = [line[6:] for line in stream.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]" and json.loads(data[0])["object"] == "chat.completion.chunk"


def test_raw_errors_over_http(sim_server: SimServer) -> None:
    no_key = httpx.post(
        f"{sim_server.anthropic_base_url}/v1/messages",
        json={"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": USER},
    )
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    bad = httpx.post(
        f"{sim_server.openai_base_url}/chat/completions",
        headers={"authorization": "Bearer test", "content-type": "application/json"},
        content=b"{not json",
    )
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    missing = httpx.get(f"{sim_server.base_url}/elsewhere")
    assert missing.status_code == 404


def test_admin_routes(sim_server: SimServer) -> None:
    client = _anthropic(sim_server)
    client.messages.create(model="claude-sonnet-4-6", max_tokens=5, messages=USER)  # type: ignore[arg-type]
    summary = httpx.get(f"{sim_server.base_url}/admin/summary").json()
    assert summary["calls"] == {"anthropic": 1}
    assert httpx.post(f"{sim_server.base_url}/admin/faults", json={"script": ["500"]}).json()["ok"]
    with pytest.raises(anthropic.InternalServerError):
        client.messages.create(model="claude-sonnet-4-6", max_tokens=5, messages=USER)  # type: ignore[arg-type]
    advanced = httpx.post(f"{sim_server.base_url}/admin/advance", json={"seconds": 60}).json()
    assert advanced["now"] >= 60


def test_cli_serve_subprocess() -> None:
    """``python -m llmlab.sim serve`` binds loopback and an unmodified SDK program talks to it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmlab.sim", "serve", "--port", str(port), "--time-scale", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/anthropic" in banner
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.05)
        client = openai.OpenAI(
            api_key="test", base_url=f"http://127.0.0.1:{port}/openai/v1", max_retries=0
        )
        c = client.chat.completions.create(model="gpt-4.1-mini", messages=USER, max_tokens=5)  # type: ignore[arg-type]
        assert c.usage is not None and c.usage.completion_tokens <= 5
        e = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"], dimensions=8)
        assert [len(d.embedding) for d in e.data] == [8, 8] and e.usage.prompt_tokens == 2
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_rejects_bad_options() -> None:
    from llmlab.sim.__main__ import main

    assert main(["serve", "--faults", '{"nonsense": 2}']) == 2


def test_oversize_body_stops_being_read_past_the_limit() -> None:
    """The ASGI reader stops one byte past MAX_BODY_BYTES (the wire format then answers 413):
    a runaway client cannot make the server buffer an unbounded body."""
    import asyncio

    from llmlab.sim.adapters import _asgi

    chunk = b"x" * (8 * 1024 * 1024)
    received: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return {"type": "http.request", "body": chunk, "more_body": len(received) < 100}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"x-api-key", b"k"), (b"anthropic-version", b"2026-10-21")]
    scope = {"type": "http", "method": "POST", "path": "/anthropic/v1/messages", "headers": headers}
    asyncio.run(_asgi.SimApp(llmlab.sim.Simulator())(scope, receive, send))
    assert len(received) == _asgi.MAX_BODY_BYTES // len(chunk) + 1  # 5 of the 100 chunks
    assert sent[0]["status"] == 413


def test_due_sse_events_leave_the_server_in_a_few_sends() -> None:
    """At a time scale where no sleep separates them, a stream's events reach the ASGI server
    joined, in a few sends instead of one per event, with the bytes a per-event read gives."""
    import asyncio

    from llmlab.sim._exchange import Chunk, SimRequest
    from llmlab.sim.adapters import _asgi

    body = {"model": "claude-sonnet-4-6", "max_tokens": 60, "stream": True, "messages": USER}
    raw = json.dumps(body).encode()
    headers = {"x-api-key": "k", "anthropic-version": "2026-10-21"}
    headers["content-type"] = "application/json"
    expected = llmlab.sim.Simulator(seed=3, time_scale=1e-6).handle(
        SimRequest("POST", "anthropic", "/v1/messages", headers, raw)
    )
    events = [piece.data for piece in expected.body if isinstance(piece, Chunk)]
    sent: list[dict[str, Any]] = []
    requests = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client never hangs up
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/anthropic/v1/messages",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(_asgi.SimApp(llmlab.sim.Simulator(seed=3, time_scale=1e-6))(scope, receive, send))
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]
    assert sent[0]["status"] == 200 and len(events) > 20
    assert b"".join(bodies) == b"".join(events)
    assert len(bodies) <= 3, f"{len(bodies)} sends for {len(events)} events"
