"""Streaming references (lab 03): parse Server-Sent Events by hand, measure time to first token,
and fold raw stream events into an :class:`Accumulated` (what one attempt delivered, complete or
not: the lab-10 client reads every Anthropic attempt through :func:`read_anthropic_event`).

The solutions notebook teaches the same code; labs fall back on it until the learner's passes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from llmlab import tokens
from llmlab.pricing import cost
from llmlab.reference.tools import ToolCall

__all__ = ["Accumulated", "measure_ttft", "parse_sse", "read_anthropic_event"]


def parse_sse(lines: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    """Turn SSE lines (``event:``/``data:``, blank line = end of event) into (name, data) pairs.

    Follows the SSE spec where Anthropic's streams rely on it: ``:`` lines are comments, one
    optional space after the colon is dropped, several ``data:`` lines join with newlines, an
    event without an ``event:`` line is called ``"message"``, and a final event with no blank
    line after it still counts. Events without data (or with OpenAI's ``[DONE]``) are skipped.
    """
    events: list[tuple[str, dict[str, Any]]] = []
    name: str | None = None
    data: list[str] = []

    def dispatch() -> None:
        if data and data != ["[DONE]"]:
            events.append((name or "message", json.loads("\n".join(data))))

    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            dispatch()
            name, data = None, []
            continue
        if line.startswith(":"):
            continue  # a comment (servers send these as keep-alives)
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    dispatch()  # a stream may end without the final blank line
    return events


def measure_ttft(stream_factory: Callable[[], AbstractContextManager[Any]]) -> tuple[float, float]:
    """(ttft_s, total_s) for one Anthropic stream, both from the moment the request is sent.

    ``stream_factory`` is a zero-argument callable such as
    ``lambda: client.messages.stream(model=..., max_tokens=..., messages=...)``. TTFT is the first
    *text delta* (what a user sees), not ``message_start``, which arrives before any token.
    """
    start = time.perf_counter()
    ttft: float | None = None
    with stream_factory() as stream:
        for event in stream:
            if (
                ttft is None
                and event.type == "content_block_delta"
                and event.delta.type == "text_delta"
            ):
                ttft = time.perf_counter() - start
    total = time.perf_counter() - start
    return (total if ttft is None else ttft), total


@dataclass
class Accumulated:
    """What one streamed attempt delivered, complete or not."""

    provider: str
    model: str
    request_id: str | None = None
    text: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # id, name, json parts
    stop_reason: str = ""
    # usage as the provider reported it; None until reported
    input_tokens: int | None = None  # uncached input
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int | None = None
    complete: bool = False

    def calls(self) -> list[ToolCall]:
        """The tool calls, parsed (JSON that does not parse is kept under ``_unparsable``)."""
        out = []
        for c in self.tool_calls:
            raw = "".join(c["json"]) or "{}"
            try:
                arguments = json.loads(raw)
            except json.JSONDecodeError:
                arguments = {"_unparsable": raw}
            out.append(ToolCall(c["id"], c["name"], arguments))
        return out

    def priced(self, prompt_estimate: int) -> tuple[int, int, int, int, float]:
        """(uncached input, output, cache writes, cache reads, USD) for this attempt.

        Reported usage is used where the stream got that far; a stream that died early is
        billed for its input and the output generated so far, which the client estimates
        from what arrived (the provider never says), and OpenAI reports input only at the end.
        """
        uncached = self.input_tokens if self.input_tokens is not None else prompt_estimate
        output = self.output_tokens
        if output is None:
            arrived = "".join(self.text) + "".join("".join(c["json"]) for c in self.tool_calls)
            output = tokens.count(arrived, self.model) if arrived else 0
        usd = cost(
            self.model,
            input_tokens=uncached,
            output_tokens=output,
            cache_write_tokens=self.cache_write_tokens,
            cache_read_tokens=self.cache_read_tokens,
            provider=self.provider,
        ).total_usd
        return uncached, output, self.cache_write_tokens, self.cache_read_tokens, float(usd)


def read_anthropic_event(acc: Accumulated, event: Any) -> str:
    """Fold one raw ``messages.create(stream=True)`` event into ``acc``; return the text it adds.

    ``message_start`` carries the request id and the input usage (uncached, cache writes, cache
    reads); a tool_use ``content_block_start`` opens a call whose ``input_json_delta`` parts
    follow; ``message_delta`` carries the stop reason and the CUMULATIVE output tokens;
    ``message_stop`` alone means the attempt is complete. Other events add nothing ("").
    """
    kind = event.type
    if kind == "message_start":
        acc.request_id = event.message.id
        u = event.message.usage
        acc.input_tokens = u.input_tokens
        acc.cache_write_tokens = u.cache_creation_input_tokens or 0
        acc.cache_read_tokens = u.cache_read_input_tokens or 0
    elif kind == "content_block_start" and event.content_block.type == "tool_use":
        block = event.content_block
        acc.tool_calls.append({"id": block.id, "name": block.name, "json": []})
    elif kind == "content_block_delta":
        delta = event.delta
        if delta.type == "text_delta":
            acc.text.append(delta.text)
            return str(delta.text)
        if delta.type == "input_json_delta" and acc.tool_calls:
            acc.tool_calls[-1]["json"].append(delta.partial_json)
    elif kind == "message_delta":
        acc.stop_reason = event.delta.stop_reason or ""
        acc.output_tokens = event.usage.output_tokens
    elif kind == "message_stop":
        acc.complete = True
    return ""
