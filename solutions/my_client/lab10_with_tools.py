"""Your 10.with_tools, kept by llmlab.check when it passed: edit the notebook, not this file."""

from collections import Counter
from dataclasses import replace


async def with_tools(self, request, tools, *, side_effects=(), max_turns=5):
    if side_effects and request.idempotency_key is None:
        raise ValueError("side-effecting tools need LLMRequest(idempotency_key=...)")
    ordinal = Counter()

    def keyed(name, fn):
        def run(**arguments):
            key = f"{request.idempotency_key}:{name}:{ordinal[name]}"
            ordinal[name] += 1
            return fn(**arguments, idempotency_key=key)
        return run

    specs = {name: replace(spec, fn=keyed(name, spec.fn)) if name in side_effects else spec
             for name, spec in tools.items()}
    conversation = self.conversation(request, tools)
    return conversation.run(await self.tool_loop(conversation, specs, max_turns=max_turns))


__llmlab_exercise__ = '10.with_tools'
__llmlab_name__ = 'with_tools'
