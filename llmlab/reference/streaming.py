"""Streaming references (lab 03): parse Server-Sent Events by hand, measure time to first token.

The solutions notebook teaches the same code; labs fall back on it until the learner's passes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

__all__ = ["measure_ttft", "parse_sse"]


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
