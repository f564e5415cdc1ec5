"""The Anthropic Messages SSE stream of one reply: message_start, block deltas, message_stop."""

from __future__ import annotations

import re
from itertools import repeat
from typing import Any

from llmlab.sim.model._generate import Generation, TextOut, ToolCallOut
from llmlab.sim.wire._sse import HOLE, frame, next_steps, sse_filler

_PING = frame("ping", {"type": "ping"})
_STOP = frame("message_stop", {"type": "message_stop"})


def sse_timeline(
    message: dict[str, Any],
    gen: Generation,
    ttft: float,
    steps: list[float],
    thought: TextOut | None = None,
) -> list[tuple[float, bytes, int]]:
    """The SSE events of ``message``: its blocks' deltas paced by the decode ``steps``.

    With ``thought``, the first block is the thinking block: ``thinking_delta`` events, then
    one ``signature_delta`` just before its ``content_block_stop``.
    """
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**message["usage"], "output_tokens": 1},
    }
    timeline: list[tuple[float, bytes, int]] = [
        (min(ttft, 0.05), frame("message_start", {"type": "message_start", "message": start}), 0)
    ]
    step_iter = iter(steps)
    first = True
    parts: list[TextOut | ToolCallOut] = [*([thought] if thought else []), *gen.parts]
    for index, (part, block) in enumerate(zip(parts, message["content"], strict=False)):
        if block["type"] == "thinking":
            shell = {**block, "thinking": "", "signature": ""}
        else:
            shell = {**block, "text": ""} if block["type"] == "text" else {**block, "input": {}}
        timeline.append(
            (
                0.0,
                frame(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": shell},
                ),
                0,
            )
        )
        if index == 0:
            timeline.append((0.0, _PING, 0))
        pieces: list[tuple[str, int]] | None = None  # (text, tokens) unless one token each
        if block["type"] == "thinking":
            assert isinstance(part, TextOut)
            shown = bool(block["thinking"])  # display "omitted": no thinking text is sent
            texts = [t.text for t in part.tokens]
            pieces = None if shown else [("", len(part.tokens))]
            kind, field_name = "thinking_delta", "thinking"
        elif isinstance(part, TextOut):
            texts = [t.text for t in part.tokens]
            kind, field_name = "text_delta", "text"
        else:
            assert isinstance(part, ToolCallOut)
            chunks = re.findall(r".{1,12}", part.arguments, re.DOTALL)
            per = max(part.n_tokens // max(len(chunks), 1), 1)
            pieces = [("", 0), *((c, per) for c in chunks)]
            kind, field_name = "input_json_delta", "partial_json"
        delta = sse_filler(  # one encoding per block; each token's text is spliced in
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": kind, field_name: HOLE},
            },
        )
        if pieces is None:  # one token a delta, each one decode step after the previous
            if first and texts:
                delays = [ttft - min(ttft, 0.05), *next_steps(step_iter, len(texts) - 1)]
                first = False
            else:
                delays = next_steps(step_iter, len(texts))
            timeline.extend(zip(delays, map(delta, texts), repeat(1)))
            pieces = []
        for text, n in pieces:  # an argument chunk's tokens, or the omitted thinking's
            delay = ttft - min(ttft, 0.05) if first else sum(next_steps(step_iter, n))
            first = False
            timeline.append((delay, delta(text), n))
        if block["type"] == "thinking":
            signature = {"type": "signature_delta", "signature": block["signature"]}
            event = {"type": "content_block_delta", "index": index, "delta": signature}
            timeline.append((0.0, frame("content_block_delta", event), 0))
        timeline.append(
            (0.0, frame("content_block_stop", {"type": "content_block_stop", "index": index}), 0)
        )
    usage = message["usage"]
    timeline.append(
        (
            0.0,
            frame(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": message["stop_reason"],
                        "stop_sequence": message["stop_sequence"],
                    },
                    "usage": {
                        "input_tokens": usage["input_tokens"],
                        "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
                        "cache_read_input_tokens": usage["cache_read_input_tokens"],
                        "output_tokens": usage["output_tokens"],
                    },
                },
            ),
            0,
        )
    )
    timeline.append((0.0, _STOP, 0))
    return timeline
