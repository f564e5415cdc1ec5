"""Wire formats: one module per API, each turning a request into the provider's exact bytes.

Anthropic Messages (:mod:`._anthropic`, with its request rules, SSE, structured outputs, thinking,
threads and API versions) and OpenAI Chat Completions (:mod:`._openai`) and Responses
(:mod:`._openai_responses`). Importing this package registers each provider's handler with the
engine, which depends on no wire format.
"""

from __future__ import annotations

from llmlab.sim._engine import register_wire_format
from llmlab.sim.wire import _anthropic, _openai

register_wire_format("anthropic", _anthropic.handle)
register_wire_format("openai", _openai.handle)
