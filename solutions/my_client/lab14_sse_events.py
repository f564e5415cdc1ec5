"""Your 14.sse_events, kept by llmlab.check when it passed: edit the notebook, not this file."""

import asyncio
import contextlib
from llmlab.reference.serving import sse_frame

HEARTBEAT = ': heartbeat\n\n'


async def sse_events(open_stream, *, heartbeat):
    """SSE frames for one streamed answer: heartbeats while silent, a queue of one, cancel on close."""
    queue = asyncio.Queue(maxsize=1)

    async def pump():
        try:
            async with open_stream() as pieces:
                async for text in pieces:
                    await queue.put(("text", text))
        except Exception as exc:
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
                yield HEARTBEAT
                continue
            if kind == "text":
                yield sse_frame({"text": value})
            elif kind == "done":
                yield sse_frame({"done": True}, "done")
                return
            else:
                yield sse_frame({"error": type(value).__name__}, "error")
                return
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__llmlab_exercise__ = '14.sse_events'
__llmlab_name__ = 'sse_events'
