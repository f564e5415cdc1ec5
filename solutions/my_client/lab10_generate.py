"""Your 10.generate, kept by llmlab.check when it passed: edit the notebook, not this file."""

import llmlab
from dataclasses import replace


async def generate(self, request, *, schema=None, context=None, max_validation_attempts=3):
    if schema is None:
        return await self.call(request)
    messages = request.messages
    for _ in range(max_validation_attempts):
        result = await self.call(replace(request, messages=messages), schema=schema)
        respond = self.respond_call(result)
        parsed, feedback = self.validate_or_feedback(schema, respond, context)
        if parsed is not None:
            return replace(result, parsed=parsed)
        messages = (*messages, *self.feedback_turns(respond, feedback))
    raise llmlab.StructuredOutputError(f"no valid {schema.__name__} after {max_validation_attempts} answers")


__llmlab_exercise__ = '10.generate'
__llmlab_name__ = 'generate'
