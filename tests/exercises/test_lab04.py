"""Lab 04 checker passes the reference and rejects the classic cache-savings mistakes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from llmlab.check import run
from llmlab.reference import caching as ref_caching
from llmlab.reference.caching import cache_savings

from ._helpers import first_hint


def test_reference_passes_and_textbook_figures() -> None:
    assert run("04.cache_savings", cache_savings).passed
    assert cache_savings(1000, 5000, 200, 300, 288, 3.0, 15.0) == pytest.approx(0.42448, abs=1e-4)
    assert cache_savings(1000, 5000, 200, 300, 1, 3.0, 15.0) == pytest.approx(0.67078, abs=1e-4)


def test_stub_is_not_attempted() -> None:
    def stub(*_: Any) -> float:
        raise NotImplementedError

    result = run("04.cache_savings", stub)
    assert not result.attempted and not result.passed


def _generic(
    calls: int,
    cached: int,
    uncached: int,
    out: int,
    writes: int,
    p_in: float,
    p_out: float,
    *,
    write_mult: float = 1.25,
    read_mult: float = 0.10,
    n_writes: int | None = None,
    n_reads: int | None = None,
    baseline_output: bool = True,
    cached_output: bool = True,
    dollars: bool = False,
) -> float:
    w = writes if n_writes is None else n_writes
    r = calls - writes if n_reads is None else n_reads
    base = calls * (cached + uncached) * p_in + (calls * out * p_out if baseline_output else 0)
    new = (
        w * cached * p_in * write_mult
        + r * cached * p_in * read_mult
        + calls * uncached * p_in
        + (calls * out * p_out if cached_output else 0)
    )
    if dollars:
        return (base - new) / 1e6
    return (base - new) / base


def reads_at_write_price(*a: Any) -> float:
    return _generic(*a, read_mult=1.25)


def no_write_premium(*a: Any) -> float:
    return _generic(*a, write_mult=1.0)


def writes_on_every_call(*a: Any) -> float:
    calls, writes = a[0], a[4]
    return _generic(*a, n_writes=calls, n_reads=calls - writes)


def every_call_reads_too(*a: Any) -> float:
    return _generic(*a, n_reads=a[0])


def savings_in_dollars(*a: Any) -> float:
    return _generic(*a, dollars=True)


def baseline_without_output(*a: Any) -> float:
    return _generic(*a, baseline_output=False)


def output_ignored_everywhere(*a: Any) -> float:
    return _generic(*a, baseline_output=False, cached_output=False)


def read_discount_as_ninety_percent_of_write(*a: Any) -> float:
    return _generic(*a, read_mult=0.9)


def writes_not_capped_by_calls(
    calls: int, cached: int, uncached: int, out: int, writes: int, p_in: float, p_out: float
) -> float:
    """Right except that 288 scheduled writes on a 100-call day make 'minus 188' reads."""
    rest = calls * (uncached * p_in + out * p_out)
    base = calls * cached * p_in + rest
    prefix = (writes * 1.25 + (calls - writes) * 0.10) * cached * p_in
    return (base - (prefix + rest)) / base


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (output_ignored_everywhere, "output tokens"),
        (baseline_without_output, "output tokens"),
        (savings_in_dollars, "FRACTION"),
        (reads_at_write_price, "reads cost 0.10x"),
        (writes_not_capped_by_calls, "min(writes_per_day, calls_per_day)"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_first_hint_names_the_mistake(wrong: Any, words: str) -> None:
    result = run("04.cache_savings", wrong)
    assert not result.passed and words in first_hint(result), result.report()


@pytest.mark.parametrize(
    "wrong",
    [
        writes_not_capped_by_calls,
        reads_at_write_price,
        no_write_premium,
        writes_on_every_call,
        every_call_reads_too,
        savings_in_dollars,
        baseline_without_output,
        output_ignored_everywhere,
        read_discount_as_ninety_percent_of_write,
    ],
)
def test_cache_savings_rejects(wrong: Any) -> None:
    result = run("04.cache_savings", wrong)
    assert result.attempted and not result.passed


# -- 04.cache_breakpoint ----------------------------------------------------------------------
def _make_breakpoint(
    *,
    mutate: bool = False,
    always: bool = False,
    fixed_minimum: bool = False,
    system_only: bool = False,
    on_question: bool = False,
    first_block: bool = False,
) -> Callable[[dict[str, Any], str], dict[str, Any]]:
    def cache_breakpoint(params: dict[str, Any], model: str) -> dict[str, Any]:
        from llmlab.sim import MODELS

        out = params if mutate else copy.deepcopy(params)
        counted = {"system": out.get("system")} if system_only else out
        minimum = 1024 if fixed_minimum else MODELS[model].cache_min_tokens
        if not always and ref_caching.prefix_tokens(counted) < minimum:
            return out
        if isinstance(out.get("system"), str):
            out["system"] = [{"type": "text", "text": out["system"]}]
        if on_question:
            message = out["messages"][-1]
            message["content"] = [{"type": "text", "text": message["content"]}]
            target = message["content"]
        else:
            target = out["system"][:1] if first_block else out["system"]
        target[-1]["cache_control"] = {"type": "ephemeral"}
        return out

    return cache_breakpoint


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (_make_breakpoint(mutate=True), "copy first"),
        (_make_breakpoint(always=True), "below the model's minimum"),
        (_make_breakpoint(fixed_minimum=True), "the minimum depends on the model"),
        (_make_breakpoint(system_only=True), "count the tools' tokens too"),
        (_make_breakpoint(on_question=True), "not on the question"),
        (_make_breakpoint(first_block=True), "the LAST system block"),
    ],
    ids=["mutates", "always", "fixed-1024", "system-only", "on-question", "first-block"],
)
def test_cache_breakpoint_names_the_mistake(wrong: Any, words: str) -> None:
    result = run("04.cache_breakpoint", wrong)
    assert not result.passed and words in first_hint(result), result.report()


def test_cache_breakpoint_reference_and_faithful_variant_pass() -> None:
    assert run("04.cache_breakpoint", ref_caching.cache_breakpoint).passed
    assert run("04.cache_breakpoint", _make_breakpoint()).passed

    def stub(params: dict[str, Any], model: str) -> dict[str, Any]:
        raise NotImplementedError

    assert not run("04.cache_breakpoint", stub).attempted
