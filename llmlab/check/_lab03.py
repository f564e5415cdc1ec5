"""Lab 03 checkers: SSE parsing against real simulator streams, TTFT measured side by side."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cache
from typing import Any

from llmlab._paths import data_dir
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, call, track_mock
from llmlab.reference import streaming as ref
from llmlab.sim import Fault, FaultPlan, Simulator, mock

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
        track_mock(mock(sim=Simulator(seed=seed, time_scale=0.001))),
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
    hints = [
        "lines starting with ':' are comments: skip them",
        "when the lines run out, the event you were building still counts",
        "join several data: lines of one event with '\\n' before json.loads",
        "the space after 'data:' is optional; with no event: line the name is 'message'",
    ]
    for (label, lines), hint in zip(_HANDMADE, hints, strict=True):
        yield _sse_case(label, candidate, lines, hint)
    yield _glued_case(candidate)
    for seed, tools in ((3, False), (4, True)):
        lines = _recorded_lines(seed, tools)
        kind = "a forced tool call" if tools else "a text reply"
        label = f"a recorded simulator stream of {kind} ({len(lines)} lines)"
        yield _sse_case(
            label,
            candidate,
            lines,
            "an event ends at a blank line; its data: line is JSON (json.loads it)",
        )


def _sse_case(label: str, candidate: Any, lines: list[str], hint: str) -> Case:
    want = ref.parse_sse(lines)
    got = call(label, candidate, list(lines))
    if isinstance(got, Raised):
        return Case(False, label, _show(want), str(got), hint)
    try:
        events = [tuple(e) for e in got]
    except TypeError:
        return Case(False, label, "a list of (name, data) tuples", _show(got), hint)
    if events == want:
        return Case(True, label)
    at = next(
        (i for i, (g, w) in enumerate(zip(events, want, strict=False)) if g != w),
        min(len(events), len(want)),
    )
    return Case(
        False,
        f"{label}: event {at}",
        f"{len(want)} events; event {at} = {_show(want[at] if at < len(want) else None)}",
        f"{len(events)} events; event {at} = {_show(events[at] if at < len(events) else None)}",
        hint,
    )


_GLUED = [
    "event: content_block_delta",
    'data: {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "first',
    'data: second"}}',
    "",
    "event: message_stop",
    'data: {"type": "message_stop"}',
    "",
]


def _glued_case(candidate: Any) -> Case:
    """Two data: lines that only parse when glued with '': joined with '\\n' (the rule) the
    payload holds a raw newline inside a JSON string, which json.loads rejects."""
    label = "an event whose two data: lines split a JSON string ('...\"first' / 'second\"}}')"
    got = call(label, candidate, list(_GLUED))
    glued = not isinstance(got, Raised) and isinstance(got, list) and "firstsecond" in repr(got)
    if isinstance(got, Raised):
        doc = getattr(got.exc, "doc", "")
        ok = isinstance(got.exc, ValueError) and (not doc or "first\nsecond" in doc)
    else:
        ok = not glued
    return Case(
        ok,
        label,
        "the lines joined with '\\n' (json.loads then rejects the raw newline in the string)",
        str(got) if isinstance(got, Raised) else _show(got),
        "join several data: lines with '\\n', not '': the payload's line break is part of it",
        diagnosed=glued,
    )


# -- 03.measure_ttft ----------------------------------------------------------------------------
# The checker's own clock: TTFT ~ 95 ms, message_start ~ 10 ms (plus the 150 ms opening). A
# wrong stop (message_start) is ~85 ms off, far outside the tolerance even when two busy
# processes share the cores; at 0.05 the gap was ~28 ms and noise let wrong answers through.
_TIME_SCALE = 0.2
_TTFT_CASES = [
    (11, "Summarise the disk-pressure alert on db-7 for the on-call engineer.", 30),
    (12, "Write the status-page update for the checkout outage.", 40),
    (13, "Explain the runbook for a failed database failover.", 20),
]


@cache
def _system() -> str:
    """A long system prompt (the course style guide): prefill makes TTFT clearly measurable."""
    return (data_dir() / "style_guide.md").read_text(encoding="utf-8")


_OPEN_DELAY = 0.15  # s spent opening the stream (a connection, a queue) before any byte


class _SlowOpen:
    """A stream manager whose opening takes ``_OPEN_DELAY``: a clock started only after
    ``with stream_factory() as stream`` misses that wait, which is part of the user's TTFT."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager

    def __enter__(self) -> Any:
        time.sleep(_OPEN_DELAY)
        return self._manager.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self._manager.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)


def _timed(fn: Any, seed: int, prompt: str, max_tokens: int) -> tuple[Any, bool]:
    """Run ``fn(stream_factory)`` against a fresh simulator; also say if the stream completed."""
    import anthropic

    sim = Simulator(seed=seed, time_scale=_TIME_SCALE)
    client = anthropic.Anthropic(api_key=_KEY, max_retries=0)

    def open_stream() -> Any:
        # no sampling parameters: anthropic 2.x (API version 2026-10-21) rejects them
        return _SlowOpen(
            client.messages.stream(
                model=_MODEL,
                max_tokens=max_tokens,
                system=_system(),
                messages=[{"role": "user", "content": prompt}],
            )
        )

    with track_mock(mock(sim=sim)):  # innermost mock wins: the checker's simulator
        result = call(f"measure_ttft on {prompt[:40]!r}...", fn, open_stream)
    records = sim.billing.records
    return result, bool(records) and all(r.complete for r in records)


def _tolerance(want: float) -> float:
    return 0.25 * want + 0.005  # scheduling noise: a few ms


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= _tolerance(want)


def _settled(got: Any, want: Any, complete: bool) -> bool:
    """Whether measuring again could not change the verdict: both figures close and the stream
    read to the end, or a miss no scheduling noise explains (a wrong shape, a stream closed
    early, a figure off by more than three tolerances: milliseconds, say). Only a near miss is
    measured again (up to three times), so a far-off answer gets its feedback in one pass."""
    if not (isinstance(got, tuple) and len(got) == 2):
        return True  # a shape problem is reported as such; re-measuring will not fix it
    try:
        ttft, total = float(got[0]), float(got[1])
    except (TypeError, ValueError):
        return True
    if not complete:
        return True
    if _close(ttft, want[0]) and _close(total, want[1]):
        return True
    return any(abs(g - w) > 3 * _tolerance(w) for g, w in ((ttft, want[0]), (total, want[1])))


@cache
def _warm_up() -> None:
    """One stream unmeasured, once per process: a process's first one pays for loading the
    tokenizer and the language model (~150 ms here), which would inflate the first expected
    figure (and, measured once, make its hint name the wrong mistake)."""
    _timed(ref.measure_ttft, *_TTFT_CASES[0])


@exercise(
    "03.measure_ttft",
    "measure_ttft(stream_factory: Callable[[], MessageStreamManager]) -> tuple[float, float]",
    "(ttft_s, total_s) of one Anthropic stream: first text delta, and the end of the stream",
    ref.measure_ttft,
)
def _check_measure_ttft(candidate: Any) -> Iterator[Case]:
    _warm_up()
    for seed, prompt, max_tokens in _TTFT_CASES:
        # Wall-clock noise on a busy machine can exceed the tolerance once; a wrong measurement
        # (message_start instead of the first text, ms instead of s) misses it every time, so a
        # near miss is measured up to three times.
        for _attempt in range(3):
            want, _ = _timed(ref.measure_ttft, seed, prompt, max_tokens)
            got, complete = _timed(candidate, seed, prompt, max_tokens)
            if _settled(got, want, complete):
                break
        label = f"a stream of up to {max_tokens} tokens for {prompt[:40]!r}..."
        shape_ok = (
            isinstance(got, tuple)
            and len(got) == 2
            and all(isinstance(x, int | float) for x in got)
        )
        if not shape_ok:
            yield Case(
                False,
                label,
                "a tuple (ttft_s, total_s)",
                str(got) if isinstance(got, Raised) else _show(got),
                "return (ttft_seconds, total_seconds)",
            )
            continue
        ttft, total = float(got[0]), float(got[1])
        late = _close(ttft, want[0] - _OPEN_DELAY) and _close(total, want[1] - _OPEN_DELAY)
        opened = (
            "start the clock BEFORE opening the stream (before `with stream_factory() as "
            f"stream:`): opening it is part of the wait; here it takes {_OPEN_DELAY * 1000:.0f} ms"
        )
        in_ms = "seconds, not milliseconds: time.perf_counter() differences are in seconds"
        hint = (
            opened
            if late
            else in_ms
            if _close(ttft, want[0] * 1000)
            else "stop the clock at the first text delta (content_block_delta with a "
            "text_delta), not at message_start"
        )
        yield Case(
            ok=_close(ttft, want[0]),
            input=label + " (TTFT)",
            expected=f"about {want[0] * 1000:.0f} ms",
            got=f"{ttft * 1000:.0f} ms",
            hint=hint,
            diagnosed=late,
        )
        yield Case(
            ok=_close(total, want[1]) and complete and ttft < total,
            input=label + " (total)",
            expected=f"about {want[1] * 1000:.0f} ms, stream read to the end",
            got=f"{total * 1000:.0f} ms" + ("" if complete else ", stream closed early"),
            hint=opened
            if late
            else in_ms
            if _close(total, want[1] * 1000)
            else "keep reading until the stream ends, then stop the clock (same start as TTFT)",
            diagnosed=late,
        )


# -- 03.read_event: fold raw stream events into an Accumulated ---------------------------------
_USER = [{"role": "user", "content": "Write one line for the status page about the payments API."}]


def _stream_events(
    client: Any, *, cut_after: int | None = None, sim: Simulator | None = None, **kwargs: Any
) -> list[Any]:
    """The raw events of one ``messages.create(stream=True)``, up to a cut if one is scripted."""
    if cut_after is not None and sim is not None:
        sim.set_faults(FaultPlan.scripted([Fault("cut", after_events=cut_after)]))
    events: list[Any] = []
    try:
        for event in client.messages.create(model=_MODEL, stream=True, **kwargs):
            events.append(event)
    except Exception:  # the scripted cut: keep what arrived before it
        if cut_after is None:
            raise
    return events


@cache
def _event_scenarios() -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """Real stream events from a private simulator: text, tool_use, cache write/read, two cuts."""
    import anthropic

    sim = Simulator(seed=31, time_scale=0.0005)
    system = [{"type": "text", "text": _style_guide(), "cache_control": {"type": "ephemeral"}}]
    forced: dict[str, Any] = {"tools": [_TOOL], "tool_choice": {"type": "tool", "name": "triage"}}
    with track_mock(mock(sim=sim)):
        client = anthropic.Anthropic(api_key=_KEY, max_retries=0)
        out = [
            ("a text stream", _stream_events(client, max_tokens=12, messages=_USER)),
            (
                "a tool_use stream (tool_choice forces triage)",
                _stream_events(client, max_tokens=80, messages=_USER, **forced),
            ),
            (
                "a stream whose cached system prompt is written",
                _stream_events(client, max_tokens=4, messages=_USER, system=system),
            ),
            (
                "the same request again: the system prompt is read from the cache",
                _stream_events(client, max_tokens=4, messages=_USER, system=system),
            ),
            (
                "a stream cut after message_delta (message_stop never came)",
                _stream_events(client, max_tokens=3, messages=_USER, cut_after=8, sim=sim),
            ),
            (
                "a stream cut after its second text delta",
                _stream_events(client, max_tokens=12, messages=_USER, cut_after=5, sim=sim),
            ),
        ]
    return tuple((name, tuple(events)) for name, events in out)


def _style_guide() -> str:
    return (data_dir() / "style_guide.md").read_text()


def _fold(read: Any, events: tuple[Any, ...], label: str) -> tuple[ref.Accumulated, list[Any]]:
    acc = ref.Accumulated("anthropic", _MODEL)
    returned = [call(f"{label}, event {i} ({e.type})", read, acc, e) for i, e in enumerate(events)]
    return acc, returned


def _calls_of(acc: Any) -> Any:
    try:
        return [(c["id"], c["name"], "".join(c["json"])) for c in acc.tool_calls]
    except Exception as exc:  # a learner's own shape of tool call
        return f"unreadable tool_calls {acc.tool_calls!r} ({type(exc).__name__})"


_FIELD_HINTS = {
    "request_id": "the request id is event.message.id, at message_start",
    "input_tokens": "message_start's event.message.usage.input_tokens (the UNCACHED input)",
    "cache_write_tokens": "message_start's usage.cache_creation_input_tokens (0 when None)",
    "cache_read_tokens": "message_start's usage.cache_read_input_tokens (0 when None)",
    "output_tokens": "output_tokens comes from message_delta's event.usage.output_tokens, and "
    "stays None until then",
    "stop_reason": "the stop reason is message_delta's event.delta.stop_reason",
    "complete": "set complete = True at message_stop, and only there",
    "text": "append each text_delta's delta.text to acc.text",
    "tool_calls": "at a tool_use content_block_start append {'id': block.id, 'name': block.name, "
    "'json': []}; append each input_json_delta's partial_json to the last call's 'json'",
}


def _diagnose_field(
    name: str, got: Any, want: Any, events: tuple[Any, ...], returned: list[Any]
) -> str:
    """A hint naming the likely mistake behind a wrong ``name``, or ''."""
    start = events[0].message.usage if events and events[0].type == "message_start" else None
    if name == "output_tokens" and start is not None and got == start.output_tokens:
        if want is None:
            return (
                "message_start's output_tokens is a placeholder (about 1): leave output_tokens "
                "None until message_delta reports the real count"
            )
        return "message_start's output_tokens is a placeholder: take message_delta's count"
    if name == "output_tokens" and start is not None and got == (want or 0) + start.output_tokens:
        return (
            "message_delta's output_tokens is CUMULATIVE (the whole reply so far): set it, "
            "do not add it to message_start's"
        )
    if name == "complete" and got is True:
        return (
            "only message_stop means the attempt is complete: this stream was cut before it "
            "(a message_delta is not the end)"
        )
    if name in ("cache_write_tokens", "cache_read_tokens") and start is not None:
        swapped = (
            start.cache_read_input_tokens
            if name == "cache_write_tokens"
            else start.cache_creation_input_tokens
        )
        if got == swapped and got != want:
            return "cache_creation_input_tokens are WRITES, cache_read_input_tokens are READS"
    return ""


def _event_cases(candidate: Any, scenario: str, events: tuple[Any, ...]) -> Iterator[Case]:
    label = f"read_event over {scenario} ({len(events)} events)"
    want, want_texts = _fold(ref.read_anthropic_event, events, label)
    acc, returned = _fold(candidate, events, label)
    crash = next((r for r in returned if isinstance(r, Raised)), None)
    if crash is not None:
        yield Case(
            False,
            label,
            "every event folded",
            str(crash),
            _FIELD_HINTS["tool_calls"]
            if "tool" in scenario
            else "read event.type first, then only the fields that event type has",
        )
        return
    not_str = [r for r in returned if not isinstance(r, str)]
    json_as_text = (
        any(isinstance(r, str) and r and r in "".join(_calls_of(want)[0][2:3]) for r in returned)
        if want.tool_calls and not want.text
        else False
    )
    yield Case(
        not not_str and "".join(returned) == "".join(want_texts),
        f"{label}: the text read_event returned, joined",
        repr("".join(want_texts)),
        f"{not_str[0]!r} from some events" if not_str else repr("".join(returned)),
        "return '' (a str, not None) when an event adds no text"
        if not_str
        else "input_json_delta carries the tool's arguments, not text: add it to the open tool "
        "call and return ''"
        if json_as_text
        else "return delta.text for a text_delta, '' for every other event",
        diagnosed=bool(not_str) or json_as_text,
    )
    fields: list[tuple[str, Any, Any]] = [
        ("text", "".join(acc.text), "".join(want.text)),
        ("tool_calls", _calls_of(acc), _calls_of(want)),
        ("request_id", acc.request_id, want.request_id),
        ("input_tokens", acc.input_tokens, want.input_tokens),
        ("cache_write_tokens", acc.cache_write_tokens, want.cache_write_tokens),
        ("cache_read_tokens", acc.cache_read_tokens, want.cache_read_tokens),
        ("output_tokens", acc.output_tokens, want.output_tokens),
        ("stop_reason", acc.stop_reason, want.stop_reason),
        ("complete", acc.complete, want.complete),
    ]
    for name, got, expected in fields:
        named = "" if got == expected else _diagnose_field(name, got, expected, events, returned)
        yield Case(
            got == expected,
            f"{label}: acc.{name}",
            repr(expected),
            repr(got),
            named or _FIELD_HINTS[name],
            diagnosed=bool(named),
        )


@exercise(
    "03.read_event",
    "read_event(acc: Accumulated, event: Any) -> str",
    "fold one raw messages.create(stream=True) event into acc (request id + input usage at "
    "message_start, text / tool-input JSON deltas, stop reason + output tokens at message_delta, "
    "complete at message_stop); return the text this event adds ('' if none)",
    ref.read_anthropic_event,
    time_limit=20.0,  # a cold first run starts the SDKs and a simulator
)
def _check_read_event(candidate: Any) -> Iterator[Case]:
    for scenario, events in _event_scenarios():
        yield from _event_cases(candidate, scenario, events)
