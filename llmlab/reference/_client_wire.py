"""The two wire formats behind :class:`~llmlab.reference.client.LLMClient`.

The client speaks one neutral contract (:class:`Message`, tool calls and results); this module
is the only place that knows Anthropic's content blocks and OpenAI's ``tool`` messages. Each
provider has a pure ``*_kwargs`` builder (request in, SDK keyword arguments out) and an
accumulator that reads the SDK's raw stream events, so a call that dies mid-stream still
knows its request id, the usage the provider reported and the text that arrived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import openai
from pydantic import BaseModel

from llmlab.reference.caching import cache_breakpoint
from llmlab.reference.cost import prompt_estimate
from llmlab.reference.streaming import Accumulated, read_anthropic_event
from llmlab.reference.tools import ToolCall, ToolResult, ToolSpec, anthropic_tools, openai_tools

__all__ = [
    "RESPOND",
    "Accumulated",
    "Message",
    "anthropic_kwargs",
    "openai_kwargs",
    "prompt_estimate",
    "read_anthropic_event",
    "read_openai_chunk",
]

RESPOND = "respond"  # the forced tool that carries structured output on both providers


@dataclass(frozen=True)
class Message:
    """One turn of a provider-neutral conversation.

    A user turn carries text and/or the results of the previous turn's tool calls; an
    assistant turn carries text and/or tool calls. Either provider can continue it.
    """

    role: Literal["user", "assistant"]
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()


# -- request builders: pure functions of the request -------------------------------------------
def _anthropic_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        blocks: list[dict[str, Any]] = []
        for r in m.tool_results:
            blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": r.call_id,
                    "content": r.content,
                    "is_error": r.is_error,
                }
            )
        if m.text:
            blocks.append({"type": "text", "text": m.text})
        for c in m.tool_calls:
            blocks.append({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments})
        out.append({"role": m.role, "content": blocks})
    return out


def _openai_messages(system: str, messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for m in messages:
        for r in m.tool_results:  # OpenAI has no is_error flag: say it in the content
            content = f"ERROR: {r.content}" if r.is_error else r.content
            out.append({"role": "tool", "tool_call_id": r.call_id, "content": content})
        if m.role == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": m.text or None}
            if m.tool_calls:
                msg["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                    }
                    for c in m.tool_calls
                ]
            out.append(msg)
        elif m.text:
            out.append({"role": "user", "content": m.text})
    return out


def anthropic_kwargs(
    *,
    model: str,
    system: str,
    messages: tuple[Message, ...],
    max_tokens: int,
    stop: tuple[str, ...],
    cache_system: bool,
    tools: dict[str, ToolSpec] | None = None,
    schema: type[BaseModel] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``messages.create``; the system prompt is the cached prefix.

    No sampling parameters: under API version 2026-10-21 (anthropic >= 2.0) ``temperature``,
    ``top_p`` and ``top_k`` are a 400, so an Anthropic call samples at the model's setting.
    """
    kwargs: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": _anthropic_messages(messages),
    }
    if system:
        kwargs["system"] = [{"type": "text", "text": system}]
    if stop:
        kwargs["stop_sequences"] = list(stop)
    if tools:
        kwargs["tools"] = anthropic_tools(tools)
    if schema is not None:
        kwargs["tools"] = [
            {
                "name": RESPOND,
                "description": "Give the answer in this shape.",
                "input_schema": schema.model_json_schema(),
            }
        ]
        kwargs["tool_choice"] = {"type": "tool", "name": RESPOND}
    if system and cache_system:  # lab 04's breakpoint: closes tools -> system, if long enough
        kwargs = cache_breakpoint(kwargs, model)
    return kwargs


def openai_kwargs(
    *,
    model: str,
    system: str,
    messages: tuple[Message, ...],
    max_tokens: int,
    temperature: float,
    top_p: float | None,
    stop: tuple[str, ...],
    tools: dict[str, ToolSpec] | None = None,
    schema: type[BaseModel] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for a streamed ``chat.completions.create`` with usage at the end.

    OpenAI caches any prefix of 1,024+ tokens by itself: keeping the system prompt first and
    byte-identical is all the caching this side needs.
    """
    kwargs: dict[str, Any] = {
        "model": model,
        "max_completion_tokens": max_tokens,
        "temperature": temperature,
        "messages": _openai_messages(system, messages),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if top_p is not None:
        kwargs["top_p"] = top_p
    if stop:
        kwargs["stop"] = list(stop)
    if tools:
        kwargs["tools"] = openai_tools(tools)
    if schema is not None:
        # the SDK's own helper makes the schema strict (additionalProperties: false, all required)
        kwargs["tools"] = [openai.pydantic_function_tool(schema, name=RESPOND)]
        kwargs["tool_choice"] = {"type": "function", "function": {"name": RESPOND}}
    return kwargs


# -- stream accumulators (Anthropic's is lab 03's read_event, in streaming.py) -----------------
def read_openai_chunk(acc: Accumulated, chunk: Any) -> str:
    """Fold one chat completion chunk into ``acc``; return any text it carried."""
    acc.request_id = chunk.id
    if chunk.usage is not None:
        cached = 0
        details = chunk.usage.prompt_tokens_details
        if details is not None and details.cached_tokens:
            cached = details.cached_tokens
        acc.input_tokens = chunk.usage.prompt_tokens - cached
        acc.cache_read_tokens = cached
        acc.output_tokens = chunk.usage.completion_tokens
        acc.complete = True
    if not chunk.choices:
        return ""
    choice = chunk.choices[0]
    if choice.finish_reason:
        acc.stop_reason = choice.finish_reason
    delta = choice.delta
    for tc in delta.tool_calls or []:
        while len(acc.tool_calls) <= tc.index:
            acc.tool_calls.append({"id": "", "name": "", "json": []})
        slot = acc.tool_calls[tc.index]
        if tc.id:
            slot["id"] = tc.id
        if tc.function is not None:
            if tc.function.name:
                slot["name"] = tc.function.name
            if tc.function.arguments:
                slot["json"].append(tc.function.arguments)
    if delta.content:
        acc.text.append(delta.content)
        return str(delta.content)
    return ""
