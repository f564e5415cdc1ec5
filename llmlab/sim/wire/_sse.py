"""Per-token SSE frames encoded once per stream: the streaming hot path of both wire formats."""

from __future__ import annotations

import json
from collections.abc import Callable
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
    dumps = json.dumps

    def fill(text: str) -> bytes:
        return head + dumps(text).encode() + tail

    return fill
