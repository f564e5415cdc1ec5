"""Tool use (lab 06): a provider-agnostic tool loop that survives a misbehaving model.

The loop sees only neutral types (:class:`ToolCall`, :class:`ModelTurn`, :class:`ToolResult`);
a small *caller* per provider turns them into wire format (Anthropic tool_use / tool_result
blocks, OpenAI ``tool_calls`` / ``tool`` role messages) and keeps the conversation. Defences:
unknown tool names and invalid arguments come back as ``is_error`` results (never dispatched),
a tool that raises becomes an ``is_error`` result, tools of one turn run concurrently, and
``max_turns`` caps the model calls so a looping model cannot run forever.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for; ``id`` is what its result must quote back."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ModelTurn:
    """What the model said this turn: text, and zero or more tool calls (run them all)."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)


@dataclass(frozen=True)
class ToolResult:
    """The answer to one :class:`ToolCall` (``call_id`` = its id); ``is_error`` flags failures."""

    call_id: str
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class ToolSpec:
    """A tool: its function (sync or async, keyword arguments), argument model, description."""

    fn: Callable[..., Any]
    args: type[BaseModel]
    description: str = ""


@dataclass
class LoopResult:
    """How the loop ended: ``"answer"`` (text in ``answer``) or ``"max_turns"`` (no answer)."""

    answer: str | None
    stopped: Literal["answer", "max_turns"]
    turns: int  # model calls made
    calls: list[ToolCall] = field(default_factory=list)  # every call the model asked for
    results: list[ToolResult] = field(default_factory=list)  # every result sent back, in order


CallModel = Callable[[list[ToolResult]], Awaitable[ModelTurn]]


async def run_tool(call: ToolCall, tools: Mapping[str, ToolSpec]) -> ToolResult:
    """Validate ``call`` (known name, valid arguments), run it, and wrap the outcome."""
    spec = tools.get(call.name)
    if spec is None:
        known = ", ".join(sorted(tools))
        return ToolResult(call.id, f"unknown tool {call.name!r}; available tools: {known}", True)
    try:
        args = spec.args.model_validate(call.arguments)
    except ValidationError as exc:
        return ToolResult(call.id, f"invalid arguments for {call.name}: {exc}", True)
    try:
        out = spec.fn(**args.model_dump())
        if inspect.isawaitable(out):
            out = await out
    except Exception as exc:  # a failing tool is the model's information, not our crash
        return ToolResult(call.id, f"{call.name} failed: {type(exc).__name__}: {exc}", True)
    return ToolResult(call.id, out if isinstance(out, str) else json.dumps(out))


async def run_tool_loop(
    call_model: CallModel, tools: Mapping[str, ToolSpec], *, max_turns: int = 5
) -> LoopResult:
    """Call the model, run the tools it asks for (concurrently), feed results back; repeat.

    ``call_model(results)`` sends the previous turn's results (``[]`` on the first call) and
    returns the model's next :class:`ModelTurn`. Stops with the first turn without tool calls
    (``stopped="answer"``) or after ``max_turns`` model calls (``stopped="max_turns"``).
    """
    result = LoopResult(answer=None, stopped="max_turns", turns=0)
    pending: list[ToolResult] = []
    for _ in range(max_turns):
        turn = await call_model(pending)
        result.turns += 1
        if not turn.tool_calls:
            result.answer, result.stopped = turn.text, "answer"
            return result
        result.calls.extend(turn.tool_calls)
        pending = list(await asyncio.gather(*(run_tool(c, tools) for c in turn.tool_calls)))
        result.results.extend(pending)
    return result


# -- provider callers: the only wire-format code ---------------------------------------------------
def anthropic_tools(tools: Mapping[str, ToolSpec]) -> list[dict[str, Any]]:
    """Anthropic tool declarations (``input_schema``) from the specs' argument models."""
    return [
        {"name": n, "description": s.description, "input_schema": s.args.model_json_schema()}
        for n, s in tools.items()
    ]


def openai_tools(tools: Mapping[str, ToolSpec]) -> list[dict[str, Any]]:
    """OpenAI function tools (``parameters``) from the specs' argument models."""
    return [
        {
            "type": "function",
            "function": {
                "name": n,
                "description": s.description,
                "parameters": s.args.model_json_schema(),
            },
        }
        for n, s in tools.items()
    ]


def anthropic_caller(
    client: Any,
    model: str,
    tools: Mapping[str, ToolSpec],
    messages: list[dict[str, Any]],
    *,
    max_tokens: int = 512,
    **extra: Any,
) -> CallModel:
    """A :data:`CallModel` over an ``anthropic.AsyncAnthropic``; ``messages`` grows in place."""
    declared = anthropic_tools(tools)

    async def call(results: list[ToolResult]) -> ModelTurn:
        if results:
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": r.call_id,
                            "content": r.content,
                            "is_error": r.is_error,
                        }
                        for r in results
                    ],
                }
            )
        response = await client.messages.create(
            model=model, max_tokens=max_tokens, tools=declared, messages=messages, **extra
        )
        messages.append({"role": "assistant", "content": response.content})
        text = "".join(b.text for b in response.content if b.type == "text")
        calls = [
            ToolCall(b.id, b.name, dict(b.input)) for b in response.content if b.type == "tool_use"
        ]
        return ModelTurn(text, calls)

    return call


def openai_caller(
    client: Any,
    model: str,
    tools: Mapping[str, ToolSpec],
    messages: list[dict[str, Any]],
    **extra: Any,
) -> CallModel:
    """A :data:`CallModel` over an ``openai.AsyncOpenAI``; results become ``tool`` messages."""
    declared = openai_tools(tools)

    async def call(results: list[ToolResult]) -> ModelTurn:
        for r in results:  # OpenAI has no is_error flag: say it in the content
            content = f"ERROR: {r.content}" if r.is_error else r.content
            messages.append({"role": "tool", "tool_call_id": r.call_id, "content": content})
        response = await client.chat.completions.create(
            model=model, tools=declared, messages=messages, **extra
        )
        message = response.choices[0].message
        messages.append(message.model_dump(exclude_none=True))
        calls = []
        for c in message.tool_calls or []:
            try:
                arguments = json.loads(c.function.arguments)
            except json.JSONDecodeError:
                arguments = {"_unparsable": c.function.arguments}
            calls.append(ToolCall(c.id, c.function.name, arguments))
        return ModelTurn(message.content or "", calls)

    return call


async def run_sequentially(
    calls: Sequence[ToolCall], tools: Mapping[str, ToolSpec]
) -> list[ToolResult]:
    """The same tools one after another (for comparison with ``asyncio.gather``)."""
    return [await run_tool(c, tools) for c in calls]
