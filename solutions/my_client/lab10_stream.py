"""Your 10.stream, kept by llmlab.check when it passed: edit the notebook, not this file."""

import asyncio
import contextlib
from llmlab.reference.client import TextPipe


@contextlib.asynccontextmanager
async def stream(self, request):
    pipe = TextPipe()
    task = pipe.start(self.call(request, on_text=pipe.put))
    try:
        yield pipe
    finally:
        task.cancel()  # the reader left: hang up on the provider
        with contextlib.suppress(asyncio.CancelledError):
            await task


__llmlab_exercise__ = '10.stream'
__llmlab_name__ = 'stream'
