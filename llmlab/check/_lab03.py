"""Lab 03 checkers: SSE parsing against real simulator streams, TTFT measured side by side."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

from llmlab._paths import data_dir
from llmlab.check._registry import Case, exercise
from llmlab.reference import streaming as ref
from llmlab.sim import Simulator, mock

_KEY = "sk-ant-llmlab-simulated"  # the checker's own simulator; never a real key
_MODEL = "claude-sonnet-4-6"
_TOOL = {
    "name": "triage",
    "description": "Triage an incident report.",
    "input_schema": {
        "type": "object",
        "properties": {
            "severity": {"type": "string", "enum": ["sev1", "sev2", "sev3", "sev4"]},
            "service": {"type": "string"},
        },
        "required": ["severity", "service"],
    },
}


def _recorded_lines(seed: int, tools: bool) -> list[str]:
    """Raw SSE lines of one Anthropic stream, recorded from a private simulator."""
    extra: dict[str, Any] = (
        {"tools": [_TOOL], "tool_choice": {"type": "tool", "name": "triage"}} if tools else {}
    )
    import anthropic

    client = anthropic.Anthropic(api_key=_KEY, max_retries=0)
    with (
        mock(sim=Simulator(seed=seed, time_scale=0.001)),
        client.messages.with_streaming_response.create(
            model=_MODEL,
            max_tokens=40,
            stream=True,
            messages=[{"role": "user", "content": "The payments API is down for everyone."}],
            **extra,
        ) as response,
    ):
        return list(response.iter_lines())


_HANDMADE: list[tuple[str, list[str]]] = [
    (
        "a keep-alive comment line ': ping' between events",
        [
            "event: ping",
            'data: {"type": "ping"}',
            "",
            ": keep-alive",
            "event: message_stop",
            'data: {"type": "message_stop"}',
            "",
        ],
    ),
    (
        "a stream whose last event has no blank line after it",
        [
            "event: content_block_stop",
            'data: {"type": "content_block_stop", "index": 0}',
            "",
            "event: message_stop",
            'data: {"type": "message_stop"}',
        ],
    ),
    (
        "one event whose JSON is split over two data: lines",
        [
            "event: message_delta",
            'data: {"type": "message_delta",',
            'data: "usage": {"output_tokens": 7}}',
            "",
        ],
    ),
    (
        "'data:' without a space, and an event with no event: line",
        [
            "event: ping",
            'data:{"type": "ping"}',
            "",
            'data: {"type": "unnamed"}',
            "",
        ],
    ),
]


def _show(events: object) -> str:
    text = repr(events)
    return text if len(text) <= 160 else text[:157] + "..."


@exercise(
    "03.parse_sse",
    "parse_sse(lines: Iterable[str]) -> list[tuple[str, dict]]",
    "(event name, parsed JSON data) for every event of an Anthropic-style SSE stream",
    ref.parse_sse,
)
def _check_parse_sse(candidate: Any) -> Iterator[Case]:
    for seed, tools in ((3, False), (4, True)):
        lines = _recorded_lines(seed, tools)
        want = ref.parse_sse(lines)
        got = candidate(list(lines))
        kind = "a forced tool call" if tools else "a text reply"
        ok = isinstance(got, list) and [tuple(e) for e in got] == want
        first_diff = next(
            (i for i, (g, w) in enumerate(zip(got or [], want, strict=False)) if tuple(g) != w),
            min(len(got or []), len(want)),
        )
        yield Case(
            ok=ok,
            input=f"a recorded simulator stream of {kind} ({len(lines)} lines, {len(want)} events)",
            expected=f"{len(want)} events; event {first_diff} = "
            + _show(want[first_diff] if first_diff < len(want) else None),
            got=f"{len(got) if isinstance(got, list) else type(got).__name__} events; event "
            f"{first_diff} = "
            + _show(got[first_diff] if isinstance(got, list) and first_diff < len(got) else None),
            hint="an event ends at a blank line; its data: line is JSON (json.loads it)",
        )
    hints = [
        "lines starting with ':' are comments: skip them",
        "when the lines run out, the event you were building still counts",
        "join several data: lines of one event with '\\n' before json.loads",
        "the space after 'data:' is optional; with no event: line the name is 'message'",
    ]
    for (label, lines), hint in zip(_HANDMADE, hints, strict=True):
        want = ref.parse_sse(lines)
        try:
            got = candidate(list(lines))
        except (ValueError, KeyError, IndexError, json.JSONDecodeError) as exc:
            got = f"{type(exc).__name__}: {exc}"
        ok = isinstance(got, list) and [tuple(e) for e in got] == want
        yield Case(ok=ok, input=label, expected=_show(want), got=_show(got), hint=hint)


# -- 03.measure_ttft ----------------------------------------------------------------------------
_TIME_SCALE = 0.05  # the checker's own clock: TTFT ~ 30 ms, message_start ~ 2.5 ms
_TTFT_CASES = [
    (11, "Summarise the disk-pressure alert on db-7 for the on-call engineer.", 60),
    (12, "Write the status-page update for the checkout outage.", 80),
    (13, "Explain the runbook for a failed database failover.", 40),
]


@cache
def _system() -> str:
    """A long system prompt (the course style guide): prefill makes TTFT clearly measurable."""
    return (data_dir() / "style_guide.md").read_text(encoding="utf-8")


def _timed(fn: Any, seed: int, prompt: str, max_tokens: int) -> tuple[Any, bool]:
    """Run ``fn(stream_factory)`` against a fresh simulator; also say if the stream completed."""
    import anthropic

    sim = Simulator(seed=seed, time_scale=_TIME_SCALE)
    client = anthropic.Anthropic(api_key=_KEY, max_retries=0)

    def open_stream() -> Any:
        return client.messages.stream(
            model=_MODEL,
            max_tokens=max_tokens,
            system=_system(),
            messages=[{"role": "user", "content": prompt}],
        )

    with mock(sim=sim):  # innermost mock wins: the checker's simulator, not the notebook's
        result = fn(open_stream)
    records = sim.billing.records
    return result, bool(records) and all(r.complete for r in records)


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= 0.25 * want + 0.005  # scheduling noise: a few ms


def _timings_close(got: Any, want: Any, complete: bool) -> bool:
    """Both figures of a well-shaped answer within the tolerance, and the stream read to the end."""
    if not (isinstance(got, tuple) and len(got) == 2):
        return True  # a shape problem is reported as such; re-measuring will not fix it
    try:
        ttft, total = float(got[0]), float(got[1])
    except (TypeError, ValueError):
        return True
    return _close(ttft, want[0]) and _close(total, want[1]) and complete


@exercise(
    "03.measure_ttft",
    "measure_ttft(stream_factory: Callable[[], MessageStreamManager]) -> tuple[float, float]",
    "(ttft_s, total_s) of one Anthropic stream: first text delta, and the end of the stream",
    ref.measure_ttft,
)
def _check_measure_ttft(candidate: Any) -> Iterator[Case]:
    for seed, prompt, max_tokens in _TTFT_CASES:
        # Wall-clock noise on a busy machine can exceed the tolerance once; a wrong measurement
        # (message_start instead of the first text, ms instead of s) misses it every time.
        for _attempt in range(3):
            want, _ = _timed(ref.measure_ttft, seed, prompt, max_tokens)
            got, complete = _timed(candidate, seed, prompt, max_tokens)
            if not _timings_close(got, want, complete):
                continue
            break
        label = f"a stream of up to {max_tokens} tokens for {prompt[:40]!r}..."
        shape_ok = (
            isinstance(got, tuple)
            and len(got) == 2
            and all(isinstance(x, int | float) for x in got)
        )
        if not shape_ok:
            yield Case(False, label, "a tuple (ttft_s, total_s)", _show(got))
            continue
        ttft, total = float(got[0]), float(got[1])
        yield Case(
            ok=_close(ttft, want[0]),
            input=label + " (TTFT)",
            expected=f"about {want[0] * 1000:.0f} ms",
            got=f"{ttft * 1000:.0f} ms",
            hint="start the clock before opening the stream; stop it at the first text delta "
            "(content_block_delta with a text_delta), not at message_start; seconds, not ms",
        )
        yield Case(
            ok=_close(total, want[1]) and complete and ttft < total,
            input=label + " (total)",
            expected=f"about {want[1] * 1000:.0f} ms, stream read to the end",
            got=f"{total * 1000:.0f} ms" + ("" if complete else ", stream closed early"),
            hint="keep reading until the stream ends, then stop the clock (same start as TTFT)",
        )
