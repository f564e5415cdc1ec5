"""Per-token SSE frames encoded once per stream: the streaming hot path of both wire formats."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from itertools import islice
from json.encoder import encode_basestring_ascii
from typing import Any

from llmlab.sim.wire._http import sse

#: a string no request can put in a reply: marks where sse_filler's value goes
HOLE = "\x00llmlab-hole\x00"


def sse_filler(event: str | None, payload: Any) -> Callable[[str], bytes]:
    """``text -> sse(event, payload with HOLE replaced by text)``, byte for byte, but fast.

    A stream encodes one frame per token that differs only in the token's text; encoding the
    frame once and splicing each text in (json.dumps of a string is the same alone as inside
    an object) spares the per-event dict copy and JSON encoding of everything else.
    ``payload`` must hold ``HOLE`` exactly once, as a string value.
    """
    head, tail = sse(event, payload).split(json.dumps(HOLE).encode())
    # one bytes %-format per frame: the encoded text spliced between head and tail
    template = head.replace(b"%", b"%%") + b"%s" + tail.replace(b"%", b"%%")
    # what json.dumps(text) returns for a str with its default settings, without the wrapper
    dumps = encode_basestring_ascii

    def fill(text: str) -> bytes:
        return template % dumps(text).encode()

    return fill


def next_steps(steps: Iterator[float], n: int) -> list[float]:
    """The next ``n`` decode steps, ``0.0`` for each past the end: ``n`` calls of
    ``next(steps, 0.0)`` in one slice."""
    out = list(islice(steps, n))
    if len(out) < n:
        out += [0.0] * (n - len(out))
    return out


#: json.dumps(payload, separators=(",", ":")) with one encoder for every frame
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def frame(event: str, payload: dict[str, Any]) -> bytes:
    """``sse(event, payload)`` for a dict payload, byte for byte, without building an encoder."""
    return b"event: " + event.encode() + b"\ndata: " + _COMPACT.encode(payload).encode() + b"\n\n"
