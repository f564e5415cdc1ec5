"""Lab 14's measured claims (serving a stream), re-measured through the real async SDK.

Heartbeats cover a stalled provider's silence; a queue of one bounds the provider read-ahead of a
slow reader while an unbounded queue reads the whole answer; a client hanging up over real TCP
(uvicorn on loopback) stops the provider, billed incomplete and for a fraction of the answer;
every log line carries its request's trace id, the one in ``X-Trace-Id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anthropic
import httpx

import llmlab.sim
from llmlab.reference.client import LLMClient, LLMRequest
from llmlab.reference.serving import (
    HEARTBEAT,
    LoopbackServer,
    make_app,
    sse_endpoint,
    sse_events,
)
from llmlab.sim import Fault, FaultPlan, Simulator

KEY = "sk-test-claims"
PROMPT = "Write a detailed step-by-step runbook for restarting the payments service safely."
HEARTBEAT_S = 0.1


def _client(**overrides: Any) -> LLMClient:
    return LLMClient(anthropic=anthropic.AsyncAnthropic(api_key=KEY), **overrides)


def _open(client: LLMClient) -> Callable[[], Any]:
    return lambda: client.stream(LLMRequest.ask(PROMPT, max_tokens=400))


async def _timeline(
    open_stream: Any, read_delay: float = 0.0, **kw: Any
) -> list[tuple[float, str]]:
    start, out = time.perf_counter(), []
    async for frame in sse_events(open_stream, heartbeat=HEARTBEAT_S, **kw):
        out.append((time.perf_counter() - start, frame))
        if read_delay:
            await asyncio.sleep(read_delay)
    return out


def test_heartbeats_cover_a_stalled_provider() -> None:
    sim = Simulator(seed=14, time_scale=0.05)
    with llmlab.sim.mock(sim=sim):
        client = _client(timeout=0.4, backoff_base=0.05)

        async def main() -> list[tuple[float, str]]:
            await _timeline(_open(client))  # warm-up (the first request loads the model)
            sim.set_faults(FaultPlan.scripted([Fault("hang", after_events=1)]))
            return await _timeline(_open(client))

        frames = asyncio.run(main())
    first = next(t for t, f in frames if f.startswith("data:"))
    beats = sum(f == HEARTBEAT for t, f in frames if t < first)
    assert client.stats["retries"] >= 1
    assert beats * HEARTBEAT_S / first > 0.5, (beats, first)


def _counted(open_stream: Any, pulled: list[float]) -> Any:
    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[AsyncIterator[str]]:
        start = time.perf_counter()
        async with open_stream() as pieces:

            async def each() -> AsyncIterator[str]:
                async for text in pieces:
                    pulled.append(time.perf_counter() - start)
                    yield text

            yield each()

    return opened


def test_a_queue_of_one_bounds_the_read_ahead_and_unbounded_does_not() -> None:
    leads: dict[int, float] = {}
    with llmlab.sim.mock(seed=14, time_scale=0.05):
        client = _client()
        for size in (1, 0):
            pulled: list[float] = []
            frames = asyncio.run(
                _timeline(_counted(_open(client), pulled), read_delay=0.01, queue_size=size)
            )
            delivered = [t for t, f in frames if f.startswith("data:")]
            lead = max(sum(p <= t for p in pulled) - i for i, t in enumerate(delivered))
            leads[size] = lead / len(pulled)
    assert leads[1] < 0.25, leads
    assert leads[0] > 0.5, leads


def _served(sim: Simulator) -> tuple[Any, io.StringIO]:
    buffer = io.StringIO()
    log = logging.getLogger("tests.claims.lab14")
    log.handlers, log.propagate, log.level = [logging.StreamHandler(buffer)], False, logging.INFO
    client = _client()
    app = make_app(
        sse_endpoint(
            lambda q: client.stream(LLMRequest.ask(q, max_tokens=400)),
            heartbeat=HEARTBEAT_S,
            log=log,
        )
    )
    return app, buffer


async def _read(http: httpx.AsyncClient, prompt: str, stop_after: int | None = None) -> Any:
    events = 0
    async with http.stream("GET", "/stream", params={"q": prompt}) as response:
        async for line in response.aiter_lines():
            events += line.startswith("data: ")
            if stop_after is not None and events >= stop_after:
                break
        return response.headers


def test_hanging_up_over_tcp_stops_billing() -> None:
    sim = Simulator(seed=14, time_scale=0.05)
    with llmlab.sim.mock(sim=sim):
        app, buffer = _served(sim)
        with LoopbackServer(app) as server:

            async def main() -> None:
                async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                    await _read(http, PROMPT)
                    sim.set_faults(FaultPlan.scripted([Fault("slow")]))
                    await _read(http, PROMPT, stop_after=3)
                for _ in range(300):
                    if len(sim.billing.records) == 2 and "disconnected" in buffer.getvalue():
                        return
                    await asyncio.sleep(0.01)

            asyncio.run(main())
    full, cut = sim.billing.records
    assert full.complete and not cut.complete
    assert cut.output_tokens / full.output_tokens < 0.5, (cut, full)
    assert json.loads(buffer.getvalue().splitlines()[-1])["outcome"] == "disconnected"


def test_every_log_line_carries_its_requests_trace_id() -> None:
    sim = Simulator(seed=14, time_scale=0.05)
    with llmlab.sim.mock(sim=sim):
        app, buffer = _served(sim)
        with LoopbackServer(app) as server:

            async def main() -> list[Any]:
                async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                    return list(
                        await asyncio.gather(*(_read(http, f"Status of {s}?") for s in "abc"))
                    )

            headers = asyncio.run(main())
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    ids = {h["x-trace-id"] for h in headers}
    assert len(ids) == 3
    assert {r["trace_id"] for r in lines} == ids
    for trace in ids:
        assert [r["event"] for r in lines if r["trace_id"] == trace] == [
            "stream_start",
            "stream_end",
        ]
