"""Lab 06 checker: a provider-agnostic tool loop, driven through the real anthropic SDK.

The checker's own simulator misbehaves on purpose: it calls a tool that does not exist
(``Behaviour(hallucinate_tool=1)``), sends arguments that break the schema
(``Behaviour(bad_tool_args=1)``), and keeps calling the same tool forever
(``Behaviour(tool_loop=True)``). The learner's loop must survive all three.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel

from llmlab.check._async import run_async
from llmlab.check._registry import Case, exercise
from llmlab.reference import tools as ref

_KEY = "sk-ant-llmlab-simulated"  # the checker's own simulator; never a real key
_MODEL = "claude-sonnet-4-6"
_GUARD = 12  # model calls after which the checker stops a loop that never ends


class _StatusArgs(BaseModel):
    service: Literal["checkout", "payments", "auth", "search", "inventory", "notifications"]


class _Probe:
    """The checker's tool: records every invocation (so dispatching junk is visible)."""

    def __init__(self) -> None:
        self.invoked: list[str | None] = []

    async def __call__(self, **kwargs: Any) -> str:  # accepts anything: we record what arrived
        service = kwargs.get("service")
        self.invoked.append(service)
        await asyncio.sleep(0.001)
        return f"{service}: healthy, error rate 0.1 percent"


class _Runaway(RuntimeError):
    pass


def _scenario(
    candidate: Any, prompt: str, behaviour: Any, max_turns: int
) -> tuple[Any, BaseException | None, _Probe, int]:
    """(LoopResult, exception, tool probe, upstream calls) for one run in a private simulator."""
    import anthropic

    from llmlab.sim import Simulator, mock

    probe = _Probe()
    tools = {
        "get_service_status": ref.ToolSpec(probe, _StatusArgs, "Current status of one service.")
    }
    sim = Simulator(seed=11, time_scale=0.001, behaviour=behaviour)

    async def go() -> Any:
        client = anthropic.AsyncAnthropic(api_key=_KEY, max_retries=0)
        inner = ref.anthropic_caller(
            client, _MODEL, tools, [{"role": "user", "content": prompt}]
        )
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
    with mock(sim=sim):
        try:
            result = run_async(go)
        except NotImplementedError:
            raise
        except Exception as exc:
            error = exc
    return result, error, probe, sim.upstream_calls


def _describe(result: Any, error: BaseException | None) -> str:
    if error is not None:
        return f"{type(error).__name__}: {str(error)[:90]}"
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
    # 4) parallel calls: every result must answer its own call
    prompt = "Check the service status of checkout, payments and search."
    result, error, probe, calls = _scenario(candidate, prompt, Behaviour(), 5)
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
