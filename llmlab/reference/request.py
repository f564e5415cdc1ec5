"""The client's contract (lab 10): a provider-neutral request in, typed results out.

:class:`LLMRequest` is plain data, so :func:`build_prompt` is a pure function of it and
:func:`prompt_hash` the same on every machine; :class:`LLMResult` and :class:`ToolRun` are what
``generate`` / ``stream`` and ``with_tools`` return, whoever answered.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from llmlab.reference._client_wire import Message
from llmlab.reference.tools import ToolCall, ToolResult

__all__ = ["LLMRequest", "LLMResult", "ToolRun", "Usage", "build_prompt", "prompt_hash"]


@dataclass(frozen=True)
class LLMRequest:
    """What the caller wants, whoever answers: prompt, explicit sampling, who pays, a key.

    ``temperature`` and ``top_p`` go to OpenAI, always sent (never a default you did not
    choose). Anthropic's current API (2026-10-21) refuses sampling parameters, so a request
    answered by Anthropic samples at the model's own setting. ``idempotency_key`` names the
    logical request, so side effects of a retried or replayed request happen once. ``seed``
    (OpenAI only) makes a sample reproducible: votes that must differ get different seeds.
    """

    messages: tuple[Message, ...]
    system: str = ""
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    feature: str = "default"
    tenant: str = "default"
    idempotency_key: str | None = None
    cache_system: bool = True
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.messages or self.messages[0].role != "user":
            raise ValueError("LLMRequest.messages must start with a user Message")
        if not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive integer, got {self.max_tokens!r}")
        if not 0.0 <= self.temperature <= 1.0:
            raise ValueError(f"temperature must be within [0, 1], got {self.temperature}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be within (0, 1], got {self.top_p}")

    @classmethod
    def ask(cls, user: str, **fields: Any) -> LLMRequest:
        """A one-turn request: ``LLMRequest.ask("Summarise ...", system=..., feature=...)``."""
        return cls(messages=(Message("user", user),), **fields)


def build_prompt(request: LLMRequest) -> dict[str, Any]:
    """The provider-neutral prompt as plain JSON data: a pure function of the request."""
    prompt: dict[str, Any] = {
        "system": request.system,
        "messages": [
            {
                "role": m.role,
                "text": m.text,
                "tool_calls": [[c.id, c.name, c.arguments] for c in m.tool_calls],
                "tool_results": [[r.call_id, r.content, r.is_error] for r in m.tool_results],
            }
            for m in request.messages
        ],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": list(request.stop),
    }
    if request.seed is not None:  # only when set: unseeded prompts keep their hashes
        prompt["seed"] = request.seed
    return prompt


def prompt_hash(request: LLMRequest) -> str:
    """SHA-256 of the canonical prompt: equal prompts, equal hashes, on any machine."""
    canonical = json.dumps(build_prompt(request), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Usage:
    """Tokens of one answer; ``input_tokens`` counts ALL input (uncached + writes + reads)."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class LLMResult:
    """One answer: text (and tool calls, or the validated object), who gave it, at what cost."""

    text: str
    provider: str
    model: str
    request_id: str
    usage: Usage
    cost_usd: float
    latency_ms: float
    ttft_ms: float | None
    attempts: int  # provider attempts this answer took, across providers
    stop_reason: str
    tool_calls: tuple[ToolCall, ...] = ()
    parsed: Any = None


@dataclass
class ToolRun:
    """How a tool loop ended: ``"answer"``, or ``"max_turns"`` (the cap on a looping model)."""

    answer: str | None = None
    stopped: Literal["answer", "max_turns"] = "max_turns"
    turns: int = 0
    calls: list[ToolCall] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    responses: list[LLMResult] = field(default_factory=list)

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd for r in self.responses)
