"""Serving a stream (lab 14): the learner's client streamed to a browser as Server-Sent Events.

``sse_events`` turns a text stream into SSE frames through a queue of one (back-pressure: the
provider is read only as fast as the browser reads), with comment-line heartbeats while
nothing arrives, and cancels the provider read when the browser goes away (billing stops).
``sse_endpoint`` wraps it in a Starlette endpoint with a per-request ``trace_id`` on every
JSON log line; ``make_app`` adds a page that reads the stream with the browser's EventSource;
``LoopbackServer`` runs the app with uvicorn on 127.0.0.1 in a background thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = [
    "HEARTBEAT",
    "Exchange",
    "LoopbackServer",
    "OpenStream",
    "asgi_get",
    "make_app",
    "sse_endpoint",
    "sse_events",
    "sse_frame",
]

#: an SSE comment line: proxies see bytes, EventSource ignores it (no event fires)
HEARTBEAT = ": heartbeat\n\n"

#: opens one streamed answer: an async context manager yielding the text pieces
OpenStream = Callable[[], AbstractAsyncContextManager[AsyncIterator[str]]]


def sse_frame(data: Mapping[str, Any], event: str | None = None) -> str:
    """One SSE event: an optional ``event:`` line, one JSON ``data:`` line, a blank line.

    JSON keeps a newline inside the text from ending the event early.
    """
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(dict(data), ensure_ascii=False)}\n\n"


async def sse_events(
    open_stream: OpenStream, *, heartbeat: float, queue_size: int = 1
) -> AsyncIterator[str]:
    """SSE frames for one streamed answer: a ``data`` frame per piece, ``HEARTBEAT`` after each
    ``heartbeat`` seconds without one, then ``event: done`` (or ``event: error``).

    A pump task reads the provider into a queue of ONE: it waits while the reader is slow.
    Closing this generator (the browser left) cancels the pump, which closes the stream.
    ``queue_size=0`` (unbounded) is there to measure what the queue of one prevents.
    """
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=queue_size)

    async def pump() -> None:
        try:
            async with open_stream() as pieces:
                async for text in pieces:
                    await queue.put(("text", text))
        except Exception as exc:  # reported to the browser as an error event
            await queue.put(("error", exc))
        else:
            await queue.put(("done", None))

    task = asyncio.ensure_future(pump())
    try:
        while True:
            try:  # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
                async with asyncio.timeout(heartbeat):
                    kind, value = await queue.get()
            except TimeoutError:
                yield HEARTBEAT
                continue
            if kind == "text":
                yield sse_frame({"text": value})
            elif kind == "done":
                yield sse_frame({"done": True}, "done")
                return
            else:  # the error's type only: its message can quote the request
                yield sse_frame({"error": type(value).__name__}, "error")
                return
    finally:
        task.cancel()  # the reader is gone (or done): stop reading the provider
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _log(log: logging.Logger, event: str, **fields: Any) -> None:
    log.info(json.dumps({"event": event, **fields}))


def sse_endpoint(
    open_stream_for: Callable[[str], AbstractAsyncContextManager[AsyncIterator[str]]],
    *,
    heartbeat: float,
    log: logging.Logger,
) -> Callable[[Any], Any]:
    """A Starlette endpoint: ``GET ?q=<prompt>`` streams the answer as ``text/event-stream``.

    Each request gets a fresh ``trace_id`` (``X-Trace-Id`` header and every JSON log line);
    the end line says how it ended (``complete`` / ``disconnected`` / ``error``), never the
    prompt. Buffering proxies are told not to (``Cache-Control``, ``X-Accel-Buffering``).
    """
    from starlette.responses import JSONResponse, StreamingResponse

    async def endpoint(request: Any) -> Any:
        trace_id = uuid.uuid4().hex
        prompt = request.query_params.get("q", "").strip()
        if not prompt:
            return JSONResponse(
                {"error": "missing ?q=<prompt>", "trace_id": trace_id},
                status_code=400,
                headers={"X-Trace-Id": trace_id},
            )

        async def body() -> AsyncIterator[str]:
            started = time.perf_counter()
            outcome, frames, beats = "disconnected", 0, 0
            _log(log, "stream_start", trace_id=trace_id, prompt_chars=len(prompt))
            try:
                events = sse_events(lambda: open_stream_for(prompt), heartbeat=heartbeat)
                async for frame in events:
                    beats += frame == HEARTBEAT
                    frames += frame != HEARTBEAT
                    if frame.startswith("event: "):
                        outcome = "complete" if frame.startswith("event: done") else "error"
                    yield frame
            finally:
                seconds = round(time.perf_counter() - started, 3)
                _log(log, "stream_end", trace_id=trace_id, outcome=outcome, frames=frames,
                     heartbeats=beats, seconds=seconds)  # fmt: skip

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "X-Trace-Id": trace_id}
        return StreamingResponse(body(), media_type="text/event-stream", headers=headers)

    return endpoint


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>llmlab stream</title></head>
<body>
<h1>Streamed answer</h1>
<p>status: <span id="status">connecting</span> | pieces: <span id="pieces">0</span></p>
<pre id="answer" style="white-space: pre-wrap"></pre>
<script>
const q = new URLSearchParams(location.search).get("q") || "Explain a safe restart.";
const source = new EventSource("stream?q=" + encodeURIComponent(q));
let pieces = 0;
source.onopen = () => { document.getElementById("status").textContent = "streaming"; };
source.onmessage = (e) => {
  document.getElementById("answer").textContent += JSON.parse(e.data).text;
  document.getElementById("pieces").textContent = ++pieces;
};
source.addEventListener("done", () => {
  source.close();  // else EventSource reconnects and asks again
  document.getElementById("status").textContent = "done";
});
source.addEventListener("error", (e) => {
  if (e.data) { source.close(); }
  document.getElementById("status").textContent = e.data ? "error" : "reconnecting";
});
</script>
</body></html>
"""


def make_app(endpoint: Callable[[Any], Any]) -> Any:
    """A Starlette app: ``/stream`` is ``endpoint``, ``/`` a page reading it with EventSource."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    async def page(request: Any) -> Any:
        return HTMLResponse(PAGE)

    return Starlette(routes=[Route("/", page), Route("/stream", endpoint)])


class LoopbackServer:
    """uvicorn serving ``app`` on 127.0.0.1 (a free port) in a daemon thread, until ``stop()``.

    ``with LoopbackServer(app) as server: ... server.url ...``; loopback only, never 0.0.0.0.
    """

    def __init__(self, app: Any, *, port: int = 0) -> None:
        import uvicorn

        if port == 0:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self.server.run, daemon=True, name="llmlab-sse")

    def start(self, timeout: float = 10.0) -> LoopbackServer:
        """Start serving; returns once the socket accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the loopback server did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit (open streams are cancelled) and wait for its thread."""
        self.server.should_exit = True
        self.server.force_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass
class Exchange:
    """One request driven through an ASGI app: status, headers and the body chunks as sent."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[tuple[float, str]] = field(default_factory=list)  # (seconds, text)
    disconnected_at: float | None = None  # seconds, when the client hung up
    sent_after_disconnect: int = 0  # body writes the app made to nobody

    @property
    def body(self) -> str:
        return "".join(text for _, text in self.chunks)

    def frames(self) -> list[str]:
        """The body split into SSE events (heartbeats included), each without its blank line."""
        return [f for f in self.body.split("\n\n") if f]


async def asgi_get(
    app: Any,
    path: str,
    *,
    disconnect_after: int | None = None,
    read_delay: float = 0.0,
    timeout: float = 5.0,
) -> Exchange:
    """GET ``path`` from an ASGI ``app`` as a browser would, with the exact timing kept.

    ``disconnect_after=n`` hangs up after n ``data`` frames (the tab closed); ``read_delay``
    makes each body write wait that long (a slow reader: a full TCP window blocks ``send``).
    httpx's ASGITransport reads the whole body before returning, so it cannot do either.
    """
    started = time.perf_counter()
    route, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"accept", b"text/event-stream")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    ex, gone, asked = Exchange(), asyncio.Event(), False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            ex.status = message["status"]
            ex.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body" and message.get("body"):
            if gone.is_set():
                ex.sent_after_disconnect += 1  # nobody is listening any more
                return
            ex.chunks.append((time.perf_counter() - started, message["body"].decode()))
            if read_delay:
                await asyncio.sleep(read_delay)
            data_frames = sum(f.startswith("data:") for f in ex.frames())
            if disconnect_after is not None and data_frames >= disconnect_after:
                ex.disconnected_at = time.perf_counter() - started
                gone.set()

    await asyncio.wait_for(app(scope, receive, send), timeout)
    return ex
