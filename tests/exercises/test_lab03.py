"""Lab 03 checkers pass the reference, reject plausible wrong answers, and spot stubs."""

from __future__ import annotations

import functools
import json
import time
from typing import Any

import pytest

from llmlab.check import CheckResult, run
from llmlab.reference import streaming as ref

from ._helpers import first_hint, hints


def test_references_pass() -> None:
    for exercise_id, fn in (("03.parse_sse", ref.parse_sse), ("03.measure_ttft", ref.measure_ttft)):
        result = run(exercise_id, fn)
        assert result.passed, result.report()


def test_stubs_are_not_attempted() -> None:
    def stub(*_: Any) -> Any:
        raise NotImplementedError

    for exercise_id in ("03.parse_sse", "03.measure_ttft"):
        result = run(exercise_id, stub)
        assert not result.attempted and not result.passed


# -- wrong parse_sse variants --------------------------------------------------------------------
def sse_strict_triples(lines: list[str]) -> list[tuple[str, dict]]:
    """Assumes event/data/blank triples: breaks on comments and multi-line data."""
    out = []
    for i in range(0, len(lines) - 1, 3):
        out.append((lines[i].split(": ", 1)[1], json.loads(lines[i + 1].split(": ", 1)[1])))
    return out


def sse_no_final_flush(lines: list[str]) -> list[tuple[str, dict]]:
    out, name, data = [], "message", ""
    for line in lines:
        if not line:
            if data:
                out.append((name, json.loads(data)))
            name, data = "message", ""
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
    return out  # forgets the last event when no blank line follows it


def sse_last_data_line_wins(lines: list[str]) -> list[tuple[str, dict]]:
    out, name, data = [], "message", ""
    for line in [*lines, ""]:
        if not line:
            if data:
                out.append((name, json.loads(data)))
            name, data = "message", ""
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
    return out


def sse_name_not_reset(lines: list[str]) -> list[tuple[str, dict]]:
    out, name, data = [], "message", ""
    for line in [*lines, ""]:
        if line.startswith(":"):
            continue
        if not line:
            if data:
                out.append((name, json.loads(data)))
            data = ""  # keeps the previous event's name
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += "\n" + line[5:].strip()
    return out


def sse_data_as_text(lines: list[str]) -> list[tuple[str, Any]]:
    return [(n, json.dumps(d)) for n, d in ref.parse_sse(lines)]


def sse_space_required(lines: list[str]) -> list[tuple[str, dict]]:
    return ref.parse_sse([line for line in lines if not line.startswith("data:{")])


def sse_joins_with_nothing(lines: list[str]) -> list[tuple[str, Any]]:
    """Right in every way but one: several data: lines are glued with '' instead of '\\n'."""
    events, name, data = [], None, []

    def dispatch() -> None:
        if data:
            events.append((name or "message", json.loads("".join(data))))

    for line in lines:
        if not line:
            dispatch()
            name, data = None, []
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
    dispatch()
    return events


@pytest.mark.parametrize(
    "wrong",
    [
        sse_joins_with_nothing,
        sse_strict_triples,
        sse_no_final_flush,
        sse_last_data_line_wins,
        sse_name_not_reset,
        sse_data_as_text,
        sse_space_required,
    ],
)
def test_parse_sse_rejects(wrong: Any) -> None:
    result = run("03.parse_sse", wrong)
    assert result.attempted and not result.passed


# -- wrong measure_ttft variants ---------------------------------------------------------------
def ttft_at_message_start(factory: Any) -> tuple[float, float]:
    start = time.perf_counter()
    ttft = None
    with factory() as stream:
        for event in stream:
            if ttft is None and event.type == "message_start":
                ttft = time.perf_counter() - start
    return ttft or 0.0, time.perf_counter() - start


def ttft_at_first_block(factory: Any) -> tuple[float, float]:
    start = time.perf_counter()
    ttft = None
    with factory() as stream:
        for event in stream:
            if ttft is None and event.type == "content_block_start":
                ttft = time.perf_counter() - start
    return ttft or 0.0, time.perf_counter() - start


def ttft_in_milliseconds(factory: Any) -> tuple[float, float]:
    ttft, total = ref.measure_ttft(factory)
    return ttft * 1000, total * 1000


def ttft_stops_at_first_token(factory: Any) -> tuple[float, float]:
    start = time.perf_counter()
    with factory() as stream:
        for _ in stream.text_stream:
            break
    elapsed = time.perf_counter() - start
    return elapsed, elapsed


def ttft_without_streaming(factory: Any) -> tuple[float, float]:
    start = time.perf_counter()
    with factory() as stream:
        stream.get_final_message()
    elapsed = time.perf_counter() - start
    return elapsed, elapsed


def ttft_clock_after_open(factory: Any) -> tuple[float, float]:
    """Right in every way but one: the clock starts once the stream is already open."""
    ttft = None
    with factory() as stream:
        start = time.perf_counter()
        for event in stream:
            delta = getattr(event, "delta", None)
            if ttft is None and getattr(delta, "type", "") == "text_delta":
                ttft = time.perf_counter() - start
        total = time.perf_counter() - start
    return ttft or total, total


def ttft_swapped(factory: Any) -> tuple[float, float]:
    ttft, total = ref.measure_ttft(factory)
    return total, ttft


@functools.cache
def _checked(exercise_id: str, wrong: Any) -> CheckResult:
    """One check per wrong variant: the two tests below share the variants both look at (a
    measure_ttft check streams for ~7 s under load)."""
    return run(exercise_id, wrong)


@pytest.mark.parametrize(
    "wrong",
    [
        ttft_clock_after_open,
        ttft_at_message_start,
        ttft_at_first_block,
        ttft_in_milliseconds,
        ttft_stops_at_first_token,
        ttft_without_streaming,
        ttft_swapped,
    ],
)
def test_measure_ttft_rejects(wrong: Any) -> None:
    result = _checked("03.measure_ttft", wrong)
    assert result.attempted and not result.passed


@pytest.mark.parametrize(
    ("exercise_id", "wrong", "words"),
    [
        ("03.parse_sse", sse_joins_with_nothing, "not ''"),
        ("03.measure_ttft", ttft_clock_after_open, "start the clock BEFORE opening"),
        ("03.measure_ttft", ttft_in_milliseconds, "seconds, not milliseconds"),
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) else None,
)
def test_first_hint_names_the_mistake(exercise_id: str, wrong: Any, words: str) -> None:
    result = _checked(exercise_id, wrong)
    assert not result.passed and words in first_hint(result), result.report()


def test_text_stream_variant_passes() -> None:
    """A correct answer written with the SDK's text_stream helper passes too."""

    def via_text_stream(factory: Any) -> tuple[float, float]:
        start = time.perf_counter()
        ttft = None
        with factory() as stream:
            for _ in stream.text_stream:
                if ttft is None:
                    ttft = time.perf_counter() - start
        total = time.perf_counter() - start
        return ttft or total, total

    result = run("03.measure_ttft", via_text_stream)
    assert result.passed, result.report()


# -- 03.read_event ----------------------------------------------------------------------------
def _make_read_event(
    *,
    output_at_start: bool = False,
    add_output: bool = False,
    complete_at_delta: bool = False,
    json_as_text: bool = False,
    none_for_others: bool = False,
    swap_cache: bool = False,
) -> Any:
    def read_event(acc: ref.Accumulated, event: Any) -> Any:
        if event.type == "message_start":
            u = event.message.usage
            acc.request_id, acc.input_tokens = event.message.id, u.input_tokens
            write, read = u.cache_creation_input_tokens or 0, u.cache_read_input_tokens or 0
            acc.cache_write_tokens, acc.cache_read_tokens = (
                (read, write) if swap_cache else (write, read)
            )
            if output_at_start or add_output:
                acc.output_tokens = u.output_tokens
        elif event.type == "content_block_start" and event.content_block.type == "tool_use":
            block = event.content_block
            acc.tool_calls.append({"id": block.id, "name": block.name, "json": []})
        elif event.type == "content_block_delta":
            if event.delta.type == "text_delta":
                acc.text.append(event.delta.text)
                return event.delta.text
            if json_as_text:
                acc.text.append(event.delta.partial_json)
                return event.delta.partial_json
            acc.tool_calls[-1]["json"].append(event.delta.partial_json)
        elif event.type == "message_delta":
            acc.stop_reason = event.delta.stop_reason or ""
            if add_output:
                acc.output_tokens = (acc.output_tokens or 0) + event.usage.output_tokens
            elif not output_at_start:
                acc.output_tokens = event.usage.output_tokens
            if complete_at_delta:
                acc.complete = True
        elif event.type == "message_stop":
            acc.complete = True
        return None if none_for_others else ""

    return read_event


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (_make_read_event(output_at_start=True), "message_start's output_tokens is a placeholder"),
        (_make_read_event(add_output=True), "CUMULATIVE"),
        (_make_read_event(complete_at_delta=True), "only message_stop means"),
        (_make_read_event(json_as_text=True), "input_json_delta carries the tool's arguments"),
        (_make_read_event(none_for_others=True), "a str, not None"),
        (_make_read_event(swap_cache=True), "are WRITES"),
    ],
    ids=["output-at-start", "adds-output", "complete-at-delta", "json-as-text", "none", "swap"],
)
def test_read_event_names_the_mistake(wrong: Any, words: str) -> None:
    result = run("03.read_event", wrong)
    assert not result.passed and words in first_hint(result), result.report()


def test_read_event_reference_and_faithful_variant_pass_stub_not_attempted() -> None:
    assert run("03.read_event", ref.read_anthropic_event).passed
    assert run("03.read_event", _make_read_event()).passed

    def stub(acc: Any, event: Any) -> str:
        raise NotImplementedError

    assert not run("03.read_event", stub).attempted


def test_only_a_near_miss_is_measured_again() -> None:
    """An answer in milliseconds is off by 1000x on each case: no noise explains that, so each
    case is measured once (a near miss, which noise might explain, up to three times)."""
    calls: list[int] = []

    def counted(factory: Any) -> tuple[float, float]:
        calls.append(1)
        return ttft_in_milliseconds(factory)

    result = run("03.measure_ttft", counted)
    assert len(calls) == 3, f"measured {len(calls)} times for 3 cases"
    # measured once, so every figure shown must name the mistake (a process's first stream,
    # slower by its loading, must not be the expected one: the checker warms up first)
    shown = hints(result)
    assert shown and all("seconds, not milliseconds" in h for h in shown), result.report()
