"""Your 10.map_reduce, kept by llmlab.check when it passed: edit the notebook, not this file."""

import asyncio
from llmlab.reference.request import LLMRequest

COMBINE_SYSTEM = 'Combine these numbered section summaries into one summary of the incident.'
MAP_SYSTEM = 'Summarise this section of a postmortem in two sentences for an engineering lead.'


async def map_reduce(client, chunks, *, limit=5):
    gate = asyncio.Semaphore(limit)

    async def summarise(chunk):
        async with gate:
            return await client.generate(LLMRequest.ask(chunk, system=MAP_SYSTEM, max_tokens=60))

    parts = await asyncio.gather(*(summarise(c) for c in chunks))  # argument order, not finish order
    numbered = "\n".join(f"{i}. {p.text}" for i, p in enumerate(parts, 1))
    return await client.generate(LLMRequest.ask(numbered, system=COMBINE_SYSTEM, max_tokens=60))


__llmlab_exercise__ = '10.map_reduce'
__llmlab_name__ = 'map_reduce'
