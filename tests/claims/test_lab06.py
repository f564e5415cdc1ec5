"""Claims of notebook 06, measured with time.perf_counter() and the real SDKs."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any, Literal

import anthropic
import openai
import pytest
from pydantic import BaseModel

from llmlab.reference.tools import (
    ToolCall,
    ToolSpec,
    anthropic_caller,
    openai_caller,
    run_sequentially,
    run_tool,
    run_tool_loop,
)
from llmlab.sim import Behaviour, mock

_SLOW = 0.05  # seconds per tool run


class _Args(BaseModel):
    service: Literal["checkout", "payments", "search", "inventory"]


async def _status(service: str) -> str:
    await asyncio.sleep(_SLOW)
    return f"{service}: healthy"


TOOLS = {"get_service_status": ToolSpec(_status, _Args, "Status of one service.")}


def test_three_slow_tools_concurrently_take_about_one_tools_time() -> None:
    calls = [ToolCall(f"c{i}", "get_service_status", {"service": s}) for i, s in
             enumerate(["checkout", "payments", "search"])]

    async def measure() -> tuple[float, float]:
        t0 = time.perf_counter()
        await run_sequentially(calls, TOOLS)
        sequential = time.perf_counter() - t0
        t0 = time.perf_counter()
        results = await asyncio.gather(*(run_tool(c, TOOLS) for c in calls))
        concurrent = time.perf_counter() - t0
        assert [r.call_id for r in results] == ["c0", "c1", "c2"]
        return sequential, concurrent

    # medians of three runs: one scheduling stall on a loaded machine must not flip the claim
    runs = [asyncio.run(measure()) for _ in range(3)]
    sequential = statistics.median(s for s, _ in runs)
    concurrent = statistics.median(c for _, c in runs)
    assert concurrent < 1.5 * _SLOW
    assert sequential / concurrent > 2


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_loop_recovers_from_a_hallucinated_tool_and_caps_a_looping_model(provider: str) -> None:
    ask = [{"role": "user", "content": "Check the service status of inventory."}]

    def caller(messages: list[Any]) -> Any:
        if provider == "anthropic":
            client = anthropic.AsyncAnthropic(api_key="sk-ant-x")
            return anthropic_caller(client, "claude-sonnet-4-6", TOOLS, messages)
        return openai_caller(openai.AsyncOpenAI(api_key="sk-x"), "gpt-4.1-mini", TOOLS, messages)

    with mock(seed=6, time_scale=0.001, behaviour=Behaviour(hallucinate_tool=1)) as sim:
        res = asyncio.run(run_tool_loop(caller(list(ask)), TOOLS))
        assert res.stopped == "answer" and res.turns == 3
        assert [(c.name, r.is_error) for c, r in zip(res.calls, res.results, strict=True)] == [
            ("run_diagnostics", True),
            ("get_service_status", False),
        ]
        sim.set_behaviour(Behaviour(tool_loop=True))
        before = sim.upstream_calls
        res = asyncio.run(run_tool_loop(caller(list(ask)), TOOLS, max_turns=4))
        assert res.stopped == "max_turns" and res.answer is None
        assert sim.upstream_calls - before == 4


def test_forcing_tool_choice_replaces_an_answer_from_memory() -> None:
    q = [{"role": "user", "content": "Is everything fine with payments right now?"}]
    tools = [{"name": "get_service_status", "description": "Status of one service.",
              "input_schema": _Args.model_json_schema()}]
    with mock(seed=6, time_scale=0.001):
        claude = anthropic.Anthropic(api_key="sk-ant-x")
        free = claude.messages.create(model="claude-sonnet-4-6", max_tokens=40,
                                      tools=tools, messages=q)  # type: ignore[arg-type]
        forced = claude.messages.create(
            model="claude-sonnet-4-6", max_tokens=300, tools=tools,  # type: ignore[arg-type]
            tool_choice={"type": "tool", "name": "get_service_status"}, messages=q)  # type: ignore[arg-type]
        assert all(b.type == "text" for b in free.content)
        assert forced.stop_reason == "tool_use"
        assert forced.content[0].input == {"service": "payments"}  # type: ignore[union-attr]
