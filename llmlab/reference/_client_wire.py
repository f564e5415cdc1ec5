"""The two wire formats behind :class:`~llmlab.reference.client.LLMClient`.

The client speaks one neutral contract (:class:`Message`, tool calls and results); this module
is the only place that knows Anthropic's content blocks, OpenAI's Responses items and its Chat
Completions ``tool`` messages. Each
provider has a pure ``*_kwargs`` builder (request in, SDK keyword arguments out) and an
accumulator that reads the SDK's raw stream events, so a call that dies mid-stream still
knows its request id, the usage the provider reported and the text that arrived.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import openai
from pydantic import BaseModel

from llmlab._httpgen import sdk_http
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
    "read_responses_event",
    "responses_kwargs",
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


# -- OpenAI's Responses API: the capstone's default OpenAI path ---------------------------------
def _responses_input(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        for r in m.tool_results:  # Responses has no is_error flag either: say it in the output
            output = f"ERROR: {r.content}" if r.is_error else r.content
            out.append({"type": "function_call_output", "call_id": r.call_id, "output": output})
        if m.text:
            out.append({"role": m.role, "content": m.text})
        for c in m.tool_calls:
            out.append(
                {
                    "type": "function_call",
                    "call_id": c.id,
                    "name": c.name,
                    "arguments": json.dumps(c.arguments),
                }
            )
    return out


def _flat(tool: Mapping[str, Any], strict: bool) -> dict[str, Any]:
    """A Chat Completions function tool in Responses' flat shape (``name`` at the top)."""
    return {"type": "function", **tool["function"], "strict": strict}


def responses_kwargs(
    *,
    model: str,
    system: str,
    messages: tuple[Message, ...],
    max_tokens: int,
    temperature: float,
    top_p: float | None,
    tools: dict[str, ToolSpec] | None = None,
    schema: type[BaseModel] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for a streamed ``responses.create`` (no stop sequences, no seed).

    ``store=False``: the client keeps the whole conversation itself and sends it every time,
    so a retry, or a failover to Anthropic, can resend it; nothing waits on OpenAI's side.
    Structured output is the forced ``respond`` tool with a strict schema, as on Anthropic
    and Chat (not ``text.format``): one ``respond`` call to validate on every path, and the
    validation feedback goes back as that call's ``function_call_output``. Ordinary tools
    are sent ``strict: false``, as Chat sends them (an omitted ``strict`` would be normalized
    into strict mode).
    """
    kwargs: dict[str, Any] = {
        "model": model,
        "input": _responses_input(messages),
        "max_output_tokens": max_tokens,
        "temperature": temperature,
        "stream": True,
        "store": False,
    }
    if system:
        kwargs["instructions"] = system
    if top_p is not None:
        kwargs["top_p"] = top_p
    if tools:
        kwargs["tools"] = [_flat(t, False) for t in openai_tools(tools)]
    if schema is not None:
        kwargs["tools"] = [_flat(openai.pydantic_function_tool(schema, name=RESPOND), True)]
        kwargs["tool_choice"] = {"type": "function", "name": RESPOND}
    return kwargs


#: a finished Response's stop, named as Chat Completions' finish_reason (the client's contract)
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _stream_error(code: str | None, message: str | None) -> openai.APIError:
    """An ``error`` event (or a failed response) as the SDK raises a Chat stream's error."""
    request = sdk_http("openai").Request("POST", "https://api.openai.com/v1/responses")
    body = {"code": code or "server_error", "message": message, "type": code or "server_error"}
    return openai.APIError(message or "The response failed mid-stream", request, body=body)


def read_responses_event(acc: Accumulated, event: Any) -> str:
    """Fold one raw Responses stream event into ``acc``; return any text it carried.

    ``error`` events and ``response.failed`` raise :class:`openai.APIError` with the error's
    code (``server_error``...), as the SDK raises a Chat stream's error event: the client's
    is_infra_error sees the same thing on both OpenAI paths.
    """
    kind = event.type
    if kind == "response.created":
        acc.request_id = event.response.id
    elif kind == "response.output_item.added" and event.item.type == "function_call":
        acc.tool_calls.append(
            {"id": event.item.call_id, "name": event.item.name, "json": [], "item": event.item.id}
        )
    elif kind == "response.function_call_arguments.delta":
        slot = next((c for c in acc.tool_calls if c.get("item") == event.item_id), None)
        if slot is not None:
            slot["json"].append(event.delta)
    elif kind == "response.output_text.delta":
        acc.text.append(event.delta)
        return str(event.delta)
    elif kind in ("response.completed", "response.incomplete"):
        response = event.response
        usage = response.usage
        if usage is not None:
            details = usage.input_tokens_details
            cached = (details.cached_tokens or 0) if details is not None else 0
            acc.input_tokens = usage.input_tokens - cached
            acc.cache_read_tokens = cached
            acc.output_tokens = usage.output_tokens
        if kind == "response.incomplete":
            reason = getattr(response.incomplete_details, "reason", None) or ""
            acc.stop_reason = _INCOMPLETE.get(reason, reason)
        else:
            acc.stop_reason = "tool_calls" if acc.tool_calls else "stop"
        acc.complete = True
    elif kind == "response.failed":
        error = event.response.error
        raise _stream_error(getattr(error, "code", None), getattr(error, "message", None))
    elif kind == "error":
        raise _stream_error(event.code, event.message)
    return ""
