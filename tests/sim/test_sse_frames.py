"""SSE frames: the spliced per-token frames are byte for byte the frames a full JSON encoding
gives, and the in-process adapter hands due frames to the HTTP client joined."""

from __future__ import annotations

import itertools
import json

import pytest

import llmlab.sim
from llmlab.sim.wire._http import sse
from llmlab.sim.wire._openai_responses_stream import _delta_frame
from llmlab.sim.wire._sse import HOLE, next_steps, sse_filler

TEXTS = ["", " the", '"quoted"', "100%", "%s %d %%", "back\\slash\nnew line", "café ☕", "\x00"]


@pytest.mark.parametrize("text", TEXTS)
def test_filler_matches_the_full_encoding(text: str) -> None:
    payload = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}}
    fill = sse_filler("content_block_delta", {**payload, "delta": {"text": HOLE}})
    assert fill(text) == sse("content_block_delta", {**payload, "delta": {"text": text}})
    assert sse_filler(None, {"c": [HOLE], "p": "5%"})(text) == sse(None, {"c": [text], "p": "5%"})


@pytest.mark.parametrize(("sequence", "text"), [(0, TEXTS[0]), *enumerate(TEXTS[1:], 7)])
def test_responses_delta_matches_the_full_encoding(sequence: int, text: str) -> None:
    ids = {"item_id": "msg_%d", "output_index": 0}
    kind = "response.output_text.delta"
    full = {"type": kind, "sequence_number": sequence, **ids, "content_index": 0}
    assert _delta_frame(ids)(sequence, text) == sse(kind, {**full, "delta": text, "logprobs": []})


def test_next_steps_is_n_calls_of_next_with_a_default() -> None:
    steps, same = iter([0.1, 0.2, 0.3]), iter([0.1, 0.2, 0.3])
    for n in (2, 0, 3, 1):
        assert next_steps(steps, n) == [next(same, 0.0) for _ in range(n)]
    assert list(itertools.islice(steps, 1)) == []


def test_due_sse_events_reach_the_http_client_in_a_few_chunks() -> None:
    """At a time scale where no sleep separates them, an ~80-event stream reaches httpx in a
    few chunks (not one per event) with the bytes of a per-event read of the same reply."""
    from llmlab.sim._exchange import Chunk, SimRequest

    http = llmlab.sim.sdk_http("anthropic")
    user = [{"role": "user", "content": "Tell me everything about the course corpus."}]
    body = {"model": "claude-sonnet-4-6", "max_tokens": 120, "stream": True, "messages": user}
    headers = {"x-api-key": "k", "anthropic-version": "2026-10-21"}
    headers["content-type"] = "application/json"
    raw = json.dumps(body).encode()
    expected = llmlab.sim.Simulator(seed=3, time_scale=1e-6).handle(
        SimRequest("POST", "anthropic", "/v1/messages", headers, raw)
    )
    events = [piece.data for piece in expected.body if isinstance(piece, Chunk)]
    with llmlab.sim.mock(seed=3, time_scale=1e-6), http.Client() as client:
        url = "https://api.anthropic.com/v1/messages"
        with client.stream("POST", url, headers=headers, content=raw) as response:
            chunks = list(response.iter_raw())
    assert len(events) > 50
    assert b"".join(chunks) == b"".join(events)
    assert len(chunks) <= 3, f"{len(chunks)} chunks for {len(events)} events"
