"""The Responses API event stream: ``response.created`` … ``response.completed``.

Each event is an SSE frame ``event: <type>`` / ``data: {"type": <type>, "sequence_number": n,
…}``. Order: ``response.created``, ``response.in_progress``; per output item
``response.output_item.added``, then for a message ``response.content_part.added``,
``response.output_text.delta`` (one per token), ``response.output_text.done``,
``response.content_part.done``, and for a function call
``response.function_call_arguments.delta`` … ``.done``; ``response.output_item.done``; last
``response.completed`` (or ``response.incomplete`` when ``max_output_tokens`` cut the answer).
The first output item arrives after the time to first token, each later token one decode step
after the previous one.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from itertools import repeat
from json.encoder import encode_basestring_ascii
from typing import Any

from llmlab.sim.model._generate import Generation, TextOut, ToolCallOut
from llmlab.sim.physics._faults import Fault
from llmlab.sim.wire._http import sse
from llmlab.sim.wire._sse import HOLE, frame, next_steps, sse_filler


class _Events:
    """Builds the timeline: (simulated delay, SSE bytes, output tokens) per event."""

    def __init__(self) -> None:
        self.timeline: list[tuple[float, bytes, int]] = []

    def add(self, kind: str, payload: dict[str, Any], delay: float = 0.0, tokens: int = 0) -> None:
        event = {"type": kind, "sequence_number": len(self.timeline), **payload}
        self.timeline.append((delay, frame(kind, event), tokens))


_SEQUENCE = "\x00llmlab-sequence\x00"  # where a frame's sequence number goes (see _delta_frame)


def _delta_frame(ids: dict[str, Any]) -> Callable[[int, str], bytes]:
    """``(sequence number, text) -> `` the ``response.output_text.delta`` frame that
    ``_Events.add`` would encode, byte for byte: the frame is encoded once per item and each
    token's number and text spliced in (json.dumps of an int is its str, of a str the same
    alone as inside an object)."""
    kind = "response.output_text.delta"
    payload = {"type": kind, "sequence_number": _SEQUENCE, **ids, "content_index": 0}
    fill = sse_filler(kind, {**payload, "delta": HOLE, "logprobs": []})
    head, rest = fill("").split(json.dumps(_SEQUENCE).encode())
    empty = json.dumps("").encode()
    cut = rest.rindex(b'"delta":' + empty) + len(b'"delta":')
    middle, tail = rest[:cut], rest[cut + len(empty) :]
    # one bytes %-format per frame (%d of an int is its str)
    head, middle, tail = (x.replace(b"%", b"%%") for x in (head, middle, tail))
    template = head + b"%d" + middle + b"%s" + tail
    dumps = encode_basestring_ascii

    def delta(sequence: int, text: str) -> bytes:
        return template % (sequence, dumps(text).encode())

    return delta


def _snapshot(response: dict[str, Any]) -> dict[str, Any]:
    """The response as ``response.created`` / ``in_progress`` show it: nothing generated yet."""
    return {
        **response,
        "status": "in_progress",
        "completed_at": None,
        "incomplete_details": None,
        "output": [],
        "usage": None,
    }


def events(
    response: dict[str, Any], gen: Generation, ttft: float, steps: list[float]
) -> list[tuple[float, bytes, int]]:
    """The stream of ``response`` (whose output ``gen`` produced), paced by ``ttft``/``steps``."""
    out = _Events()
    out.add("response.created", {"response": _snapshot(response)})
    out.add("response.in_progress", {"response": _snapshot(response)})
    step = iter(steps)
    wait = ttft  # the first output item waits for the first token
    tokens = [t for p in gen.parts if isinstance(p, TextOut) for t in p.tokens]
    calls = iter(p for p in gen.parts if isinstance(p, ToolCallOut))
    for index, item in enumerate(response["output"]):
        ids = {"item_id": item["id"], "output_index": index}
        opening = {**copy.deepcopy(item), "status": "in_progress"}
        if item["type"] == "message":
            opening["content"] = []
            out.add("response.output_item.added", {"output_index": index, "item": opening}, wait)
            wait = 0.0
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            out.add("response.content_part.added", {**ids, "content_index": 0, "part": part})
            delta = _delta_frame(ids)
            if tokens:  # one delta a token, the first at once, each later one step after
                first = len(out.timeline)
                delays = [0.0, *next_steps(step, len(tokens) - 1)]
                frames = map(delta, range(first, first + len(tokens)), [t.text for t in tokens])
                out.timeline.extend(zip(delays, frames, repeat(1)))
            content = item["content"][0]
            done = {**ids, "content_index": 0, "text": content["text"], "logprobs": []}
            out.add("response.output_text.done", done)
            out.add("response.content_part.done", {**ids, "content_index": 0, "part": content})
        else:
            call = next(calls)
            opening["arguments"] = ""
            out.add("response.output_item.added", {"output_index": index, "item": opening}, wait)
            wait = 0.0
            pieces = re.findall(r".{1,12}", item["arguments"], re.DOTALL)
            per = max(call.n_tokens // max(len(pieces), 1), 1)
            for piece in pieces:
                delay = sum(next(step, 0.0) for _ in range(per))
                out.add(
                    "response.function_call_arguments.delta", {**ids, "delta": piece}, delay, per
                )
            done = {**ids, "arguments": item["arguments"], "name": item["name"]}
            out.add("response.function_call_arguments.done", done)
        out.add("response.output_item.done", {"output_index": index, "item": item})
    final = "response.completed" if response["status"] == "completed" else "response.incomplete"
    out.add(final, {"response": response})
    return out.timeline


def error_event(fault: Fault | None, n_events: int) -> bytes | None:
    """The ``error`` event a ``stream_error`` fault sends in place of event ``after_events``."""
    if fault is None or fault.kind != "stream_error":
        return None
    sequence = min(fault.after_events, n_events - 1)  # where the playback strikes
    return sse(
        "error",
        {
            "type": "error",
            "code": "server_error",
            "message": "The server had an error while processing your request. Sorry about that!",
            "param": None,
            "sequence_number": sequence,
        },
    )
