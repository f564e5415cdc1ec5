"""Lab 14 checkers: the reference passes; plausible wrong relays and endpoints fail, named."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from starlette.responses import JSONResponse, Response, StreamingResponse

from llmlab.check import run
from llmlab.reference import serving as ref
from llmlab.reference.serving import HEARTBEAT, sse_frame

from ._helpers import first_hint


def test_references_pass() -> None:
    for name in ("sse_events", "sse_endpoint"):
        result = run(f"14.{name}", getattr(ref, name))
        assert result.passed, result.report()


def test_stubs_are_not_attempted() -> None:
    async def sse_events(open_stream: Any, *, heartbeat: float) -> Any:
        raise NotImplementedError  # YOUR CODE HERE

    def sse_endpoint(open_stream_for: Any, *, heartbeat: float, log: Any) -> Any:
        raise NotImplementedError  # YOUR CODE HERE

    assert not run("14.sse_events", sse_events).attempted
    assert not run("14.sse_endpoint", sse_endpoint).attempted


# -- 14.sse_events: wrong relays ------------------------------------------------------------------
def _relay(
    *,
    frame: Callable[[str], str] = lambda t: sse_frame({"text": t}),
    done: str | None = sse_frame({"done": True}, "done"),
    beat: str = HEARTBEAT,
    maxsize: int = 1,
    cancel: bool = True,
    catch: bool = True,
    error: Callable[[BaseException], dict[str, Any]] = lambda e: {"error": type(e).__name__},
) -> Any:
    """The reference relay with one thing changed."""

    async def sse_events(open_stream: Any, *, heartbeat: float) -> AsyncIterator[str]:
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=maxsize)

        async def pump() -> None:
            try:
                async with open_stream() as pieces:
                    async for text in pieces:
                        await queue.put(("text", text))
            except Exception as exc:
                if not catch:
                    await queue.put(("raise", exc))
                    return
                await queue.put(("error", exc))
            else:
                await queue.put(("done", None))

        task = asyncio.ensure_future(pump())
        try:
            while True:
                try:
                    async with asyncio.timeout(heartbeat):
                        kind, value = await queue.get()
                except TimeoutError:
                    yield beat
                    continue
                if kind == "text":
                    yield frame(value)
                elif kind == "done":
                    if done:
                        yield done
                    return
                elif kind == "raise":
                    raise value
                else:
                    yield sse_frame(error(value), "error")
                    return
        finally:
            if cancel:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return sse_events


async def relay_direct(open_stream: Any, *, heartbeat: float) -> AsyncIterator[str]:
    """No pump: no heartbeats while the provider is silent."""
    try:
        async with open_stream() as pieces:
            async for text in pieces:
                yield sse_frame({"text": text})
    except Exception as exc:
        yield sse_frame({"error": type(exc).__name__}, "error")
        return
    yield sse_frame({"done": True}, "done")


async def relay_wait_for_anext(open_stream: Any, *, heartbeat: float) -> AsyncIterator[str]:
    """Heartbeats by timing out the provider's own read: the timeout cancels that read."""
    async with open_stream() as pieces:
        it = aiter(pieces)
        while True:
            try:
                text = await asyncio.wait_for(anext(it), heartbeat)
            except TimeoutError:
                yield HEARTBEAT
                continue
            except StopAsyncIteration:
                break
            yield sse_frame({"text": text})
    yield sse_frame({"done": True}, "done")


WRONG_RELAYS: dict[str, tuple[Any, str]] = {
    "raw text in data": (_relay(frame=lambda t: f"data: {t}\n\n"), "JSON-encode"),
    "no done event": (_relay(done=None), "event: done"),
    "no blank line": (
        _relay(frame=lambda t: sse_frame({"text": t}).rstrip("\n") + "\n"),
        "blank line",
    ),  # fmt: skip
    "no heartbeat": (relay_direct, "send a comment frame"),
    "wait_for(anext)": (relay_wait_for_anext, "cancels that read"),
    "heartbeat as data": (_relay(beat=sse_frame({"text": ""})), "SSE comment"),
    "unbounded queue": (_relay(maxsize=0), "unbounded buffering"),
    "pump never cancelled": (_relay(cancel=False), "cancel the pump"),
    "error raised out": (_relay(catch=False), "EventSource reconnects"),
    "error message sent": (_relay(error=lambda e: {"error": str(e)}), "quote the user's prompt"),
}


@pytest.mark.parametrize("name", sorted(WRONG_RELAYS))
def test_wrong_relays_fail_with_their_hint(name: str) -> None:
    wrong, hint = WRONG_RELAYS[name]
    result = run("14.sse_events", wrong)
    assert not result.passed, result.report()
    assert hint in first_hint(result), result.report()


# -- 14.sse_endpoint: wrong endpoints -------------------------------------------------------------
def _endpoint(
    *,
    media: str = "text/event-stream",
    trace_once: bool = False,
    log_start: Callable[[str, str], dict[str, Any]] = lambda t, p: {"trace_id": t},
    collect: bool = False,
    end_in_finally: bool = True,
    refuse_empty: bool = True,
    plain_log: bool = False,
    relay: Any = ref.sse_events,
) -> Any:
    """The reference endpoint with one thing changed."""

    def sse_endpoint(open_stream_for: Any, *, heartbeat: float, log: logging.Logger) -> Any:
        once = uuid.uuid4().hex

        async def endpoint(request: Any) -> Response:
            trace_id = once if trace_once else uuid.uuid4().hex
            prompt = request.query_params.get("q", "")
            if not prompt and refuse_empty:
                return JSONResponse({"error": "missing q"}, status_code=400)

            def emit(**fields: Any) -> None:
                log.info(str(fields) if plain_log else json.dumps(fields))

            async def body() -> AsyncIterator[str]:
                outcome = "disconnected"
                emit(event="stream_start", **log_start(trace_id, prompt))
                try:
                    async for f in relay(
                        lambda: open_stream_for(prompt or "?"), heartbeat=heartbeat
                    ):
                        if f.startswith("event: done"):
                            outcome = "complete"
                        yield f
                    if not end_in_finally:
                        emit(event="stream_end", trace_id=trace_id, outcome=outcome)
                finally:
                    if end_in_finally:
                        emit(event="stream_end", trace_id=trace_id, outcome=outcome)

            headers = {"Cache-Control": "no-cache", "X-Trace-Id": trace_id}
            if collect:
                frames = [f async for f in body()]

                async def replay() -> AsyncIterator[str]:
                    for f in frames:
                        yield f

                return StreamingResponse(replay(), media_type=media, headers=headers)
            return StreamingResponse(body(), media_type=media, headers=headers)

        return endpoint

    return sse_endpoint


WRONG_ENDPOINTS: dict[str, tuple[Any, str]] = {
    "text/plain": (_endpoint(media="text/plain"), "media_type='text/event-stream'"),
    "trace id per endpoint": (_endpoint(trace_once=True), "once per request"),
    "start line without trace id": (_endpoint(log_start=lambda t, p: {}), "EVERY line"),
    "prompt in the logs": (
        _endpoint(log_start=lambda t, p: {"trace_id": t, "q": p}),
        "never log the prompt",
    ),  # fmt: skip
    "collected before sending": (_endpoint(collect=True), "collected before it was sent"),
    "end logged after the loop": (_endpoint(end_in_finally=False), "`finally:` around the body"),
    "empty prompt sent": (_endpoint(refuse_empty=False), "400"),
    "logs not JSON": (_endpoint(plain_log=True), "json.dumps"),
    "relay never cancels": (_endpoint(relay=_relay(maxsize=0, cancel=False)), "cancel its pump"),
}


@pytest.mark.parametrize("name", sorted(WRONG_ENDPOINTS))
def test_wrong_endpoints_fail_with_their_hint(name: str) -> None:
    wrong, hint = WRONG_ENDPOINTS[name]
    result = run("14.sse_endpoint", wrong)
    assert not result.passed, result.report()
    assert hint in first_hint(result), result.report()
