"""Lab 14 checkers: an SSE relay with heartbeats, back-pressure and cancellation; its endpoint.

The provider is a scripted fake stream that records what was pulled from it and when it was
closed, so each case can say what happened upstream: read ahead of the browser, still read
after the browser left, cancelled mid-read by a timeout. The endpoint is driven through
``asgi_get`` (an ASGI client that can read slowly and hang up), spec 2.3 as uvicorn serves it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from llmlab.check._async import run_async
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, raised, running
from llmlab.reference import serving as ref


# -- a scripted provider stream ------------------------------------------------------------------
@dataclass
class _Source:
    """``open()`` streams ``pieces`` (``first`` s before the first, ``gap`` s between them)."""

    pieces: list[str]
    first: float = 0.0
    gap: float = 0.0
    fail_after: int | None = None  # raise after this many pieces
    opened: int = 0
    pulled: int = 0
    closed_at: float | None = None
    cancelled_mid_read: bool = False
    finished: bool = False
    t0: float = field(default_factory=time.perf_counter)

    def open(self) -> _Opened:
        self.opened += 1
        return _Opened(self)

    async def _gen(self) -> AsyncIterator[str]:
        try:
            for i, piece in enumerate(self.pieces):
                if self.fail_after is not None and i == self.fail_after:
                    raise RuntimeError("upstream failed for prompt ZEBRA-4411")
                await asyncio.sleep(self.first if i == 0 else self.gap)
                self.pulled += 1
                yield piece
            self.finished = True
        except asyncio.CancelledError:
            self.cancelled_mid_read = True
            raise


class _Opened:
    def __init__(self, source: _Source) -> None:
        self.source = source

    async def __aenter__(self) -> AsyncIterator[str]:
        return self.source._gen()

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.source.closed_at = time.perf_counter() - self.source.t0


def _events(frames: list[str]) -> tuple[list[tuple[str, Any]], int]:
    """(event name, parsed data) of each non-comment frame, and the number of comment frames."""
    out: list[tuple[str, Any]] = []
    comments = 0
    for frame in frames:
        lines = [line for line in frame.split("\n") if line]
        if lines and all(line.startswith(":") for line in lines):
            comments += 1
            continue
        name, data = "message", []
        for line in lines:
            key, _, value = line.partition(":")
            if key == "event":
                name = value.strip()
            elif key == "data":
                data.append(value.removeprefix(" "))
        try:
            out.append((name, json.loads("\n".join(data))))
        except ValueError:
            out.append((name, "\n".join(data)))
    return out, comments


def _split(text: str) -> list[str]:
    return [f for f in text.split("\n\n") if f.strip("\n")]


def _expected(pieces: list[str], end: str = "done") -> list[tuple[str, Any]]:
    tail = ("done", {"done": True}) if end == "done" else ("error", {"error": "RuntimeError"})
    return [("message", {"text": p}) for p in pieces] + [tail]


async def _collect(
    candidate: Any,
    source: _Source,
    heartbeat: float,
    *,
    read_delay: float = 0.0,
    stop_after: int | None = None,
) -> tuple[list[str], list[float]]:
    """Frames the candidate yields (and when); ``stop_after`` data frames, then ``aclose()``."""
    frames, times, data = [], [], 0
    gen = candidate(source.open, heartbeat=heartbeat)
    try:
        async for frame in gen:
            frames.append(frame)
            times.append(time.perf_counter() - source.t0)
            data += isinstance(frame, str) and frame.startswith("data:")
            if stop_after is not None and data >= stop_after:
                break
            if read_delay:
                await asyncio.sleep(read_delay)
    finally:
        await gen.aclose()
    return frames, times


def _run(make: Callable[[], Any]) -> Any:
    try:
        return run_async(make)
    except Exception as exc:
        return raised(exc)


# -- 14.sse_events ------------------------------------------------------------------------------
@exercise(
    "14.sse_events",
    "async def sse_events(open_stream, *, heartbeat: float) -> AsyncIterator[str]",
    "SSE frames for a streamed answer: heartbeats while silent, a queue of one, "
    "and closing the generator stops the provider read",
    ref.sse_events,
    time_limit=15.0,
)
def _check_sse_events(candidate: Any) -> Iterator[Case]:
    pieces = ["Restart", " the\nworker", ' "gently"', " now."]
    running("sse_events on 4 pieces (one with a newline, one with quotes)")
    src = _Source(list(pieces))
    got = _run(lambda: _collect(candidate, src, 1.0))
    if isinstance(got, Raised):
        yield Case(False, "4 pieces, no delays", "the frames", str(got), "")
        return
    frames, _ = got
    text = "".join(f for f in frames if isinstance(f, str))
    events, _ = _events(_split(text))
    raw = any(f.startswith("data: ") and not f.startswith('data: {"') for f in frames)
    no_blank = bool(frames) and not all(isinstance(f, str) and f.endswith("\n\n") for f in frames)
    hint = (
        'each piece is `data: <json {"text": piece}>` and a blank line; end with '
        '`event: done` and `data: {"done": true}`'
    )
    if raw:
        hint = (
            "JSON-encode the piece (json.dumps({'text': piece})): a raw newline in the text "
            "ends the event early and the browser loses the rest of the line"
        )
    elif no_blank:
        hint = "every frame ends with a blank line ('\\n\\n'): that is what ends an SSE event"
    elif events[:-1] == _expected(pieces)[:-1]:
        hint = (
            "finish with an `event: done` frame: EventSource cannot tell 'done' from "
            "'connection dropped' and reconnects (asking again) unless the page closes it"
        )
    ok = events == _expected(pieces) and not no_blank
    yield Case(
        ok,
        "4 pieces, no delays: the frames",
        repr(_expected(pieces)),
        repr(events),
        "" if ok else hint,
        diagnosed=raw or no_blank,
    )

    running("sse_events while the first piece takes 0.4 s (heartbeat=0.05)")
    src = _Source(["first", " second"], first=0.4)
    got = _run(lambda: _collect(candidate, src, 0.05))
    if isinstance(got, Raised):
        yield Case(False, "first piece after 0.4 s", "heartbeats, then the pieces", str(got), "")
    else:
        frames, _ = got
        events, beats = _events(_split("".join(frames)))
        before = 0
        for f in frames:
            if f.startswith("data:"):
                break
            before += f.startswith(":")
        empty_data = any(e == ("message", {"text": ""}) for e in events)
        if src.cancelled_mid_read:
            hint = (
                "a timeout around the provider's own read (wait_for(anext(...))) cancels "
                "that read: the stream dies. Read it in a task into a queue; time out on the "
                "queue instead"
            )
        elif empty_data:
            hint = (
                "a heartbeat is an SSE comment (': heartbeat' and a blank line): a data "
                "frame would reach the page as a message"
            )
        elif before == 0:
            hint = (
                "nothing reached the browser for 0.4 s: send a comment frame every "
                "`heartbeat` seconds without a piece, or proxies drop the idle connection"
            )
        else:
            hint = "heartbeats while waiting, then every piece and the done event"
        ok = (
            before >= 3 and events == _expected(["first", " second"]) and not src.cancelled_mid_read
        )
        yield Case(
            ok,
            "first piece after 0.4 s, heartbeat=0.05",
            ">= 3 comment frames before the first data frame, then both pieces and done",
            f"{before} comment frames before the first data frame; events {events!r}",
            "" if ok else hint,
            diagnosed=src.cancelled_mid_read or empty_data or before == 0,
        )

    running("sse_events read slowly (20 ms per frame): how far ahead is the provider read?")
    src = _Source([f" w{i}" for i in range(60)])
    got = _run(lambda: _collect(candidate, src, 1.0, read_delay=0.02, stop_after=6))
    if isinstance(got, Raised):
        yield Case(False, "a slow reader", "a bounded read-ahead", str(got), "")
    else:
        ahead = src.pulled - 6
        ok = ahead <= 3
        yield Case(
            ok,
            "60 instant pieces, the reader takes 20 ms per frame, stops after 6",
            "the provider read at most 3 pieces ahead of the reader",
            f"{src.pulled} pieces read from the provider ({ahead} ahead)",
            ""
            if ok
            else "unbounded buffering: the pump reads the whole answer into "
            "memory while the browser is slow; use asyncio.Queue(maxsize=1) so the "
            "pump waits for the reader",
            diagnosed=not ok,
        )

    running("sse_events closed after 3 data frames (the browser left)")
    src = _Source([f" w{i}" for i in range(40)], gap=0.01)

    async def leave() -> tuple[int, int]:
        await _collect(candidate, src, 1.0, stop_after=3)
        at_close = src.pulled
        await asyncio.sleep(0.25)
        return at_close, src.pulled

    got = _run(leave)
    if isinstance(got, Raised):
        yield Case(False, "closing after 3 frames", "the provider stream closed", str(got), "")
    else:
        at_close, later = got
        ok = src.closed_at is not None and later <= at_close + 1 and later < 40
        kept = later > at_close + 1 or src.finished
        yield Case(
            ok,
            "40 pieces 10 ms apart; the reader closes the generator after 3",
            "the provider stream closed, no more pieces read after closing",
            f"{at_close} pieces read at close, {later} 0.25 s later, stream closed: "
            f"{src.closed_at is not None}",
            ""
            if ok
            else "the pump keeps reading after the browser left (the provider "
            "keeps generating and billing): cancel the pump task in a `finally:`"
            if kept
            else "the provider stream was never closed (a pump left waiting holds the "
            "connection open): cancel the pump task in a `finally:`",
            diagnosed=not ok,
        )

    running("sse_events when the provider fails after 2 pieces")
    src = _Source(["one", " two", " three"], fail_after=2)
    got = _run(lambda: _collect(candidate, src, 1.0))
    if isinstance(got, Raised):
        yield Case(
            False,
            "the provider fails after 2 pieces",
            "2 data frames, then `event: error` (no exception out of the generator)",
            str(got),
            "catch the provider's error and send an `event: error` frame: an "
            "exception cuts the HTTP response, and EventSource reconnects and asks again "
            "(billed twice)",
            diagnosed=True,
        )
    else:
        frames, _ = got
        events, _ = _events(_split("".join(frames)))
        leak = "ZEBRA-4411" in "".join(frames)
        ok = events == _expected(["one", " two"], end="error") and not leak
        yield Case(
            ok,
            "the provider fails after 2 pieces",
            repr(_expected(["one", " two"], end="error")),
            repr(events),
            ""
            if ok
            else "send only the error's type ({'error': type(exc).__name__}): "
            "its message can quote the user's prompt"
            if leak
            else "2 data frames, then `event: error` with {'error': <exception type name>}",
            diagnosed=leak,
        )


# -- 14.sse_endpoint ----------------------------------------------------------------------------
class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _app(candidate: Any, source: Callable[[str], _Source]) -> tuple[Any, _Capture, list[_Source]]:
    log = logging.getLogger(f"llmlab.check.lab14.{id(source)}")
    log.propagate, log.level = False, logging.INFO
    log.handlers = [capture := _Capture()]
    made: list[_Source] = []

    def open_for(prompt: str) -> Any:
        made.append(src := source(prompt))
        return src.open()

    return ref.make_app(candidate(open_for, heartbeat=0.05, log=log)), capture, made


def _json_lines(lines: list[str]) -> list[dict[str, Any]] | str:
    out = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            return f"a log line that is not JSON: {line[:120]!r}"
        if not isinstance(rec, dict):
            return f"a log line that is not a JSON object: {line[:120]!r}"
        out.append(rec)
    return out


@exercise(
    "14.sse_endpoint",
    "sse_endpoint(open_stream_for, *, heartbeat: float, log: logging.Logger) -> endpoint",
    "a Starlette endpoint streaming ?q= as text/event-stream, a fresh trace_id per request "
    "on every JSON log line, and the provider closed when the client hangs up",
    ref.sse_endpoint,
    time_limit=15.0,
)
def _check_sse_endpoint(candidate: Any) -> Iterator[Case]:
    secret = "ZEBRA-4411 customer jane@example.com"
    words = [f" w{i}" for i in range(8)]
    running("GET /stream?q=... through the ASGI app")
    made = _run(lambda: _made_app(candidate, words, gap=0.03))
    if isinstance(made, Raised):
        yield Case(
            False,
            "sse_endpoint(open_stream_for, heartbeat=0.05, log=log)",
            "an endpoint",
            str(made),
            "",
        )
        return
    app, capture, sources = made
    got = _run(lambda: _two_gets(app, f"/stream?q={secret}"))
    if isinstance(got, Raised):
        yield Case(False, "GET /stream?q=...", "a streamed response", str(got), "")
        return
    first, second = got
    h = first.headers
    want_headers = "200, text/event-stream, Cache-Control: no-cache, an X-Trace-Id"
    got_headers = (
        f"{first.status}, {h.get('content-type', '')}, Cache-Control: "
        f"{h.get('cache-control')}, X-Trace-Id: {h.get('x-trace-id')}"
    )
    ok = (
        first.status == 200
        and h.get("content-type", "").startswith("text/event-stream")
        and "no-cache" in h.get("cache-control", "")
        and bool(h.get("x-trace-id"))
    )
    yield Case(
        ok,
        "GET /stream?q=...: status and headers",
        want_headers,
        got_headers,
        ""
        if ok
        else "StreamingResponse(..., media_type='text/event-stream', headers="
        "{'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no', 'X-Trace-Id': trace_id})",
    )
    events, _ = _events(_split(first.body))
    ok = events == _expected(words)
    yield Case(
        ok,
        "GET /stream?q=...: the body",
        repr(_expected(words))[:200],
        repr(events),
        "" if ok else "stream sse_events(lambda: open_stream_for(prompt), heartbeat=...)",
    )
    data_times = [t for t, c in first.chunks if c.startswith("data:")]
    ok = len(data_times) >= 2 and data_times[0] < 0.6 * data_times[-1]
    yield Case(
        ok,
        "8 pieces 30 ms apart: when the first data frame is sent",
        "long before the last (streamed, not collected)",
        f"first at {data_times[0] if data_times else None}, last at "
        f"{data_times[-1] if data_times else None} s",
        ""
        if ok
        else "the response was collected before it was sent: hand the async "
        "generator itself to StreamingResponse",
        diagnosed=not ok,
    )
    ids = [first.headers.get("x-trace-id"), second.headers.get("x-trace-id")]
    ok = ids[0] is not None and ids[0] != ids[1]
    yield Case(
        ok,
        "two requests: their X-Trace-Id headers",
        "two different ids",
        repr(ids),
        ""
        if ok
        else "make the trace id inside the endpoint, once per request "
        "(uuid.uuid4().hex), not once when the endpoint is built",
        diagnosed=ids[0] == ids[1],
    )
    recs = _json_lines(capture.lines)
    if isinstance(recs, str):
        yield Case(
            False,
            "the log lines",
            "one JSON object per line",
            recs,
            "log json.dumps({...}) so a log search can filter on trace_id",
            diagnosed=True,
        )
    else:
        per = {i: [r for r in recs if r.get("trace_id") == i] for i in ids}
        orphans = [r for r in recs if r.get("trace_id") not in ids]
        ok = all(len(v) >= 2 for v in per.values()) and not orphans
        yield Case(
            ok,
            "the JSON log lines of the two requests",
            "each request's lines (>= 2: start and end) carry its trace_id",
            f"{[len(v) for v in per.values()]} lines per trace id, {len(orphans)} lines "
            f"without one: {orphans[:1]}",
            ""
            if ok
            else "put trace_id on EVERY line of the request (start and end): a "
            "line without it cannot be joined to the request",
            diagnosed=bool(orphans),
        )
        ends = [r.get("outcome") for r in recs if r.get("event") == "stream_end"]
        ok = ends[:1] == ["complete"]
        yield Case(
            ok,
            "the stream_end line of a finished stream",
            "outcome 'complete'",
            repr(ends),
            ""
            if ok
            else "log {'event': 'stream_end', 'trace_id': ..., "
            "'outcome': 'complete' | 'disconnected' | 'error', ...} when the body ends",
        )
    leaked = any("ZEBRA-4411" in line or "jane@" in line for line in capture.lines)
    yield Case(
        not leaked,
        "the log lines",
        "no prompt text (log its length if you must)",
        "the prompt appears in the logs" if leaked else "no prompt text",
        ""
        if not leaked
        else "never log the prompt: it holds what users typed (lab 09); log its length",
        diagnosed=leaked,
    )

    running("GET /stream (no ?q=)")
    got = _run(lambda: ref.asgi_get(app, "/stream"))
    opened = len(sources)
    if not isinstance(got, Raised):
        ok = got.status == 400 and len(sources) == opened
        yield Case(
            ok,
            "GET /stream without ?q=",
            "400, and no provider stream opened",
            f"{got.status}",
            ""
            if ok
            else "refuse an empty prompt with a 400 before opening anything: it would be billed",
        )

    running("GET /stream?q=... and the client hangs up after 3 data frames")
    slow = _run(lambda: _made_app(candidate, [f" w{i}" for i in range(40)], gap=0.01))
    if isinstance(slow, Raised):
        return
    app2, capture2, sources2 = slow

    async def hang_up() -> tuple[ref.Exchange, int, int]:
        ex = await ref.asgi_get(app2, "/stream?q=hello", disconnect_after=3)
        at = sources2[0].pulled if sources2 else 0
        await asyncio.sleep(0.25)
        return ex, at, sources2[0].pulled if sources2 else 0

    got = _run(hang_up)
    if isinstance(got, Raised):
        yield Case(False, "client hangs up after 3 frames", "the provider closed", str(got), "")
        return
    ex, at, later = got
    src = sources2[0] if sources2 else None
    closed = src is not None and src.closed_at is not None and later <= at + 1 and later < 40
    yield Case(
        closed,
        "40 pieces 10 ms apart; the client hangs up after 3 data frames",
        "the provider stream closed, nothing read after the hang-up",
        f"{at} pieces read at the hang-up, {later} 0.25 s later, closed: "
        f"{src is not None and src.closed_at is not None}",
        ""
        if closed
        else "when the client disconnects Starlette cancels the body: "
        "sse_events must cancel its pump in `finally:` so the provider stops (billing)",
        diagnosed=not closed,
    )
    recs2 = _json_lines(capture2.lines)
    ends = (
        []
        if isinstance(recs2, str)
        else [r.get("outcome") for r in recs2 if r.get("event") == "stream_end"]
    )
    ok = ends == ["disconnected"]
    yield Case(
        ok,
        "the stream_end line after the hang-up",
        "outcome 'disconnected'",
        repr(ends),
        ""
        if ok
        else "log the end in a `finally:` around the body, with the outcome "
        "'disconnected' unless the done/error event was sent: a cancelled body never "
        "reaches the line after its loop",
        diagnosed=not ok,
    )


async def _made_app(
    candidate: Any, words: list[str], gap: float
) -> tuple[Any, _Capture, list[_Source]]:
    return _app(candidate, lambda prompt: _Source(list(words), gap=gap))


async def _two_gets(app: Any, path: str) -> tuple[ref.Exchange, ref.Exchange]:
    return await ref.asgi_get(app, path), await ref.asgi_get(app, path)
