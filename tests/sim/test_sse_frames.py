"""The spliced per-token SSE frames are byte for byte the frames a full JSON encoding gives."""

from __future__ import annotations

import itertools

import pytest

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
