"""Lab 06 checker: a provider-agnostic tool loop, driven through the real anthropic SDK.

The checker's own simulator misbehaves on purpose: it calls a tool that does not exist
(``Behaviour(hallucinate_tool=1)``), sends arguments that break the schema
(``Behaviour(bad_tool_args=1)``), and keeps calling the same tool forever
(``Behaviour(tool_loop=True)``). The learner's loop must survive all three.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel

from llmlab.check._async import run_async
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import raised, running, track_mock
from llmlab.reference import tools as ref

_KEY = "sk-ant-llmlab-simulated"  # the checker's own simulator; never a real key
_MODEL = "claude-sonnet-4-6"
_GUARD = 12  # model calls after which the checker stops a loop that never ends
_SLOW_TOOL = 0.05  # s per tool call where concurrency is measured


class _StatusArgs(BaseModel):
    service: Literal["checkout", "payments", "auth", "search", "inventory", "notifications"]


class _Probe:
    """The checker's tool: records every invocation (so dispatching junk is visible)."""

    def __init__(self, seconds: float = 0.001) -> None:
        self.invoked: list[str | None] = []
        self.spans: list[tuple[float, float]] = []
        self.seconds = seconds  # how long one status lookup takes

    async def __call__(self, **kwargs: Any) -> str:  # accepts anything: we record what arrived
        service = kwargs.get("service")
        self.invoked.append(service)
        start = time.perf_counter()
        await asyncio.sleep(self.seconds)
        self.spans.append((start, time.perf_counter()))
        return f"{service}: healthy, error rate 0.1 percent"

    def peak(self) -> int:
        """The most invocations that were running at the same moment."""
        return max((sum(1 for s, e in self.spans if s <= t < e) for t, _ in self.spans), default=0)


class _Runaway(RuntimeError):
    pass


def _scenario(
    candidate: Any, prompt: str, behaviour: Any, max_turns: int, tool_seconds: float = 0.001
) -> tuple[Any, BaseException | None, _Probe, int]:
    """(LoopResult, exception, tool probe, upstream calls) for one run in a private simulator."""
    import anthropic

    from llmlab.sim import Simulator, mock

    probe = _Probe(tool_seconds)
    tools = {
        "get_service_status": ref.ToolSpec(probe, _StatusArgs, "Current status of one service.")
    }
    sim = Simulator(seed=11, time_scale=0.001, behaviour=behaviour)

    async def go() -> Any:
        client = anthropic.AsyncAnthropic(api_key=_KEY, max_retries=0)
        # no sampling parameters: anthropic 2.x (API version 2026-10-21) rejects them
        inner = ref.anthropic_caller(client, _MODEL, tools, [{"role": "user", "content": prompt}])
        made = 0

        async def call_model(results: list[ref.ToolResult]) -> ref.ModelTurn:
            nonlocal made
            made += 1
            if made > _GUARD:
                raise _Runaway(f"the model was called more than {_GUARD} times")
            return await inner(results)

        return await candidate(call_model, tools, max_turns=max_turns)

    result: Any = None
    error: BaseException | None = None
    # innermost mock wins: the checker's simulator answers, not the notebook's
    running(f"run_tool_loop(call_model, tools, max_turns={max_turns}) on {prompt!r}")
    with track_mock(mock(sim=sim)):
        try:
            result = run_async(go)
        except Exception as exc:  # judged by the cases, shown at the learner's line
            error = exc
    return result, error, probe, sim.upstream_calls


def _describe(result: Any, error: BaseException | None) -> str:
    if error is not None:
        return str(raised(error))
    return (
        f"stopped={getattr(result, 'stopped', '?')!r}, turns={getattr(result, 'turns', '?')}, "
        f"answer={'yes' if getattr(result, 'answer', None) else 'none'}"
    )


@exercise(
    "06.tool_loop",
    "async run_tool_loop(call_model, tools: Mapping[str, ToolSpec], *, max_turns: int = 5) "
    "-> LoopResult",
    "a provider-agnostic tool loop: is_error for unknown tools and bad arguments, results "
    "correlated by id, at most max_turns model calls",
    ref.run_tool_loop,
)
def _check_tool_loop(candidate: Any) -> Iterator[Case]:
    from llmlab.sim import Behaviour

    # 1) a hallucinated tool
    prompt = "Check the service status of checkout before we page anyone."
    result, error, probe, calls = _scenario(candidate, prompt, Behaviour(hallucinate_tool=1), 5)
    first = (getattr(result, "results", None) or [None])[0]
    content = str(getattr(first, "content", ""))
    yield Case(
        ok=error is None and getattr(first, "is_error", False) is True,
        input="a model that calls an undeclared tool 'run_diagnostics'",
        expected="a ToolResult with is_error=True for that call",
        got=_describe(result, error) if first is None else f"is_error={first.is_error!r}",
        hint="look the name up in tools; if it is missing, return an error result, do not raise",
    )
    yield Case(
        ok="get_service_status" in content,
        input="the error result for the undeclared tool",
        expected="a message listing the available tools (get_service_status)",
        got=content[:100] or "nothing",
        hint="tell the model what it may call: ', '.join(sorted(tools))",
    )
    yield Case(
        ok=error is None
        and probe.invoked == ["checkout"]
        and calls == 3
        and getattr(result, "stopped", None) == "answer",
        input="the same conversation, end to end",
        expected="the real tool run once (checkout), 3 model calls, stopped='answer'",
        got=f"tool ran for {probe.invoked}, {calls} model calls; " + _describe(result, error),
        hint="never dispatch an unknown name; feed the error back and let the model recover",
    )
    # 2) arguments that break the schema
    result, error, probe, calls = _scenario(candidate, prompt, Behaviour(bad_tool_args=1), 5)
    first = (getattr(result, "results", None) or [None])[0]
    content = str(getattr(first, "content", ""))
    yield Case(
        ok=error is None and getattr(first, "is_error", False) is True and "service" in content,
        input="a model that sends get_service_status an invalid 'service' value",
        expected="an is_error ToolResult naming the invalid field (service)",
        got=_describe(result, error)
        if first is None
        else f"is_error={first.is_error!r}: {content[:80]}",
        hint="validate with spec.args.model_validate(call.arguments) before calling the tool",
    )
    yield Case(
        ok=error is None
        and probe.invoked == ["checkout"]
        and getattr(result, "stopped", None) == "answer",
        input="tool invocations after an invalid argument",
        expected="only the corrected call reached the tool (['checkout']), then an answer",
        got=f"tool ran for {probe.invoked}; " + _describe(result, error),
        hint="an argument that fails validation must never reach the tool",
    )
    # 3) a model that loops
    result, error, probe, calls = _scenario(candidate, prompt, Behaviour(tool_loop=True), 3)
    yield Case(
        ok=error is None
        and calls == 3
        and getattr(result, "stopped", None) == "max_turns"
        and getattr(result, "answer", "x") is None,
        input="a model that calls the same tool forever, max_turns=3",
        expected="exactly 3 model calls, stopped='max_turns', answer=None",
        got=f"{calls} model calls; " + _describe(result, error),
        hint="count model calls and stop at max_turns (a per-turn cap)",
    )
    # 4) parallel calls: every result must answer its own call, and they run concurrently
    prompt = "Check the service status of checkout, payments and search."
    result, error, probe, calls = _scenario(candidate, prompt, Behaviour(), 5, _SLOW_TOOL)
    by_id = {c.id: c for c in getattr(result, "calls", [])}
    pairs = [(by_id.get(r.call_id), r) for r in getattr(result, "results", [])]
    matched = [
        c is not None and str(c.arguments.get("service")) in r.content and not r.is_error
        for c, r in pairs
    ]
    yield Case(
        ok=error is None and len(pairs) == 3 and all(matched),
        input="three parallel calls in one turn (checkout, payments, search)",
        expected="3 results, each carrying the id of the call it answers",
        got=_describe(result, error) if error else f"{len(pairs)} results, correlated={matched}",
        hint="build each ToolResult with the id of the call you ran (asyncio.gather keeps order)",
    )
    if error is None and len(probe.spans) == 3:
        peak = probe.peak()
        yield Case(
            ok=peak == 3,
            input=f"three calls in one turn, each tool taking {_SLOW_TOOL * 1000:.0f} ms",
            expected="all 3 running at once (concurrently)",
            got=f"at most {peak} running at once",
            hint="run one turn's tool calls concurrently: "
            "await asyncio.gather(*(run_tool(c, tools) for c in turn.tool_calls)), "
            "not one `await` after another in a for loop",
            diagnosed=peak == 1,
        )
