"""06.tool_loop: the reference passes; loops missing a defence fail; a stub is unattempted."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from llmlab.check import run
from llmlab.reference import tools as ref
from llmlab.reference.tools import LoopResult, ToolCall, ToolResult, ToolSpec

from ._helpers import first_hint


def _make(
    *,
    cap: bool = True,
    dispatch_unknown: bool = False,
    flag_errors: bool = True,
    validate: bool = True,
    sequential: bool = False,
    shuffle_ids: bool = False,
) -> Any:
    async def one(call: ToolCall, tools: Mapping[str, ToolSpec]) -> ToolResult:
        spec = tools.get(call.name)
        if spec is None:
            if dispatch_unknown:
                spec = next(iter(tools.values()))
            else:
                msg = f"unknown tool {call.name}; available tools: {', '.join(tools)}"
                return ToolResult(call.id, msg, flag_errors)
        if validate:
            try:
                spec.args.model_validate(call.arguments)
            except Exception as exc:
                return ToolResult(call.id, f"invalid arguments: {exc}", flag_errors)
        try:
            return ToolResult(call.id, await spec.fn(**call.arguments))
        except Exception as exc:
            return ToolResult(call.id, f"failed: {exc}", flag_errors)

    async def loop(
        call_model: Any, tools: Mapping[str, ToolSpec], *, max_turns: int = 5
    ) -> LoopResult:
        out = LoopResult(None, "max_turns", 0)
        pending: list[ToolResult] = []
        while not cap or out.turns < max_turns:
            turn = await call_model(pending)
            out.turns += 1
            if not turn.tool_calls:
                out.answer, out.stopped = turn.text, "answer"
                return out
            out.calls += turn.tool_calls
            if sequential:
                pending = [await one(c, tools) for c in turn.tool_calls]
            else:
                pending = list(await asyncio.gather(*(one(c, tools) for c in turn.tool_calls)))
            if shuffle_ids and len(pending) > 1:
                ids = [r.call_id for r in pending][::-1]
                pairs = zip(ids, pending, strict=True)
                pending = [ToolResult(i, r.content, r.is_error) for i, r in pairs]
            out.results += pending
        return out

    return loop


def test_reference_passes() -> None:
    assert run("06.tool_loop", ref.run_tool_loop).passed


def test_sequential_tools_are_caught_and_named() -> None:
    # the exercise says "run the tools it asks for concurrently": one await after another
    # passes every other rule, so the concurrency case is its only (and first) failure
    result = run("06.tool_loop", _make(sequential=True))
    assert len(result.failures) == 1, result.report()
    assert "concurrently" in first_hint(result), result.report()


@pytest.mark.parametrize(
    "flags",
    [
        {"cap": False},
        {"dispatch_unknown": True},
        {"flag_errors": False},
        {"validate": False},
        {"shuffle_ids": True},
    ],
    ids=["no-cap", "dispatch-unknown", "no-is-error", "no-arg-validation", "mismatched-ids"],
)
def test_wrong_variants_fail(flags: dict[str, Any]) -> None:
    assert not run("06.tool_loop", _make(**flags)).passed


def test_stub_is_not_attempted() -> None:
    async def stub(*args: Any, **kwargs: Any) -> LoopResult:
        raise NotImplementedError

    result = run("06.tool_loop", stub)
    assert not result.attempted and not result.passed
