"""Lab 04 checkers: a prompt cache's daily savings, and where the client puts the breakpoint."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from llmlab import tokens
from llmlab._paths import data_dir
from llmlab.check._diagnose import Mistake, verdict
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, call, running, track_mock
from llmlab.reference import caching as ref
from llmlab.sim import MODELS

# (calls/day, cached, uncached, output, writes/day, $in, $out, what the case probes)
_CASES: list[tuple[int, int, int, int, int, float, float, str]] = [
    (1000, 5000, 200, 300, 288, 3.0, 15.0, "the textbook case: a write every 5 minutes"),
    (1000, 5000, 200, 300, 1, 3.0, 15.0, "the textbook case, kept warm by reads: one write"),
    (500, 20000, 100, 50, 100, 3.0, 15.0, "a large prefix and short replies"),
    (200, 2000, 500, 800, 200, 3.0, 15.0, "every call writes (no call ever reads)"),
    (10000, 8000, 0, 400, 24, 1.0, 5.0, "no uncached input at all, cheaper model"),
    (50, 1500, 300, 2000, 0, 15.0, 75.0, "a pre-warmed prefix: no writes, output-heavy"),
    (100, 4000, 100, 200, 288, 3.0, 15.0, "more writes scheduled than calls: every call writes"),
]
_RULE = "writes cost 1.25x the input price, reads 0.10x; the baseline pays 1.0x on every call"


def _savings(
    args: tuple[int, int, int, int, int, float, float],
    *,
    output: bool = True,
    uncached: bool = True,
    clamp: bool = True,
    w: float = 1.25,
    r: float = 0.10,
    dollars: bool = False,
    base_output: bool = True,
) -> float:
    """``cache_savings`` with one rule broken the way a plausible mistake breaks it."""
    calls, cached, unc, out, writes, p_in, p_out = args
    rest = calls * ((unc * p_in if uncached else 0) + (out * p_out if output else 0))
    base = calls * cached * p_in + rest - (0 if base_output else calls * out * p_out)
    n = min(writes, calls) if clamp else writes
    prefix = (n * w + (calls - n) * r) * cached * p_in
    saved = base - (prefix + rest)
    return saved / 1e6 if dollars else saved / base


def _mistakes(args: tuple[int, int, int, int, int, float, float]) -> list[Mistake]:
    return [
        (
            "the totals include the output tokens (and the uncached input): they cost the same "
            "with or without a cache, but belong in both totals, so the fraction is smaller",
            lambda: _savings(args, output=False),
        ),
        (
            "the totals include the output tokens: they cost the same with or without a cache, "
            "but belong in both totals",
            lambda: _savings(args, output=False, uncached=False),
        ),
        (
            "the no-cache baseline includes the output tokens too, exactly as the cached total "
            "does",
            lambda: _savings(args, base_output=False),
        ),
        (
            "the totals include the uncached input tokens too (at 1.0x in both totals)",
            lambda: _savings(args, uncached=False),
        ),
        (
            "no more calls can write than there are calls: writes = min(writes_per_day, "
            "calls_per_day)",
            lambda: _savings(args, clamp=False),
        ),
        ("return the FRACTION saved (0..1), not dollars", lambda: _savings(args, dollars=True)),
        ("reads cost 0.10x the input price, not 1.25x", lambda: _savings(args, r=1.25)),
        ("writes cost 1.25x the input price (a premium), not 1.0x", lambda: _savings(args, w=1.0)),
        (
            "only writes_per_day calls write; every other call reads the prefix at 0.10x",
            lambda: _savings(args, r=1.25 if args[4] else 0.10, w=1.25),
        ),
    ]


def _fmt(x: object) -> str:
    return f"{x:.4f}" if isinstance(x, float) else repr(x)


def _same(got: Any, want: float) -> bool:
    return (
        isinstance(got, int | float)
        and not isinstance(got, bool)
        and math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
    )


@exercise(
    "04.cache_savings",
    "cache_savings(calls_per_day: int, cached_tokens: int, uncached_tokens: int, "
    "output_tokens: int, writes_per_day: int, price_in: float, price_out: float) -> float",
    "fraction (0..1) of the daily cost saved by caching vs no cache (writes 1.25x, reads 0.10x)",
    ref.cache_savings,
)
def _check_cache_savings(candidate: Any) -> Iterator[Case]:
    for calls, cached, uncached, out, writes, p_in, p_out, what in _CASES:
        args = (calls, cached, uncached, out, writes, p_in, p_out)
        label = (
            f"cache_savings({calls}, {cached}, {uncached}, {out}, writes_per_day={writes}, "
            f"price_in={p_in}, price_out={p_out}) - {what}"
        )
        yield verdict(
            label,
            call(label, candidate, *args),
            ref.cache_savings(*args),
            same=_same,
            show=_fmt,
            rule=_RULE,
            mistakes=_mistakes(args),
        )


# -- 04.cache_breakpoint: where the client puts the breakpoint, and when ------------------------
_SIM_KEY = "sk-ant-llmlab-checker"  # the checker's own simulator, never a real key
_SONNET, _HAIKU = "claude-sonnet-4-6", "claude-haiku-4-5"
_QUESTIONS = ("Draft a status update for the DNS incident.", "Summarise the checkout outage.")


def _tool(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"Look up the {name.replace('_', ' ')} of a Northwind service.",
        "input_schema": {"type": "object", "properties": {"service": {"type": "string"}}},
    }


def _first_tokens(text: str, target: int) -> str:
    """The leading paragraphs of ``text`` holding about ``target`` tokens."""
    kept: list[str] = []
    for para in text.split("\n\n"):
        if kept and tokens.anthropic_tokens([], system="\n\n".join([*kept, para])) > target:
            break
        kept.append(para)
    return "\n\n".join(kept)


@cache
def _breakpoint_cases() -> tuple[tuple[str, str, dict[str, Any]], ...]:
    style = (data_dir() / "style_guide.md").read_text()
    policy = (data_dir() / "triage_policy.md").read_text()
    ask = [{"role": "user", "content": _QUESTIONS[0]}]
    tools = [_tool("get_runbook"), _tool("get_oncall"), _tool("get_dashboard")]
    return (
        (
            "Sonnet 4.6 (minimum 1024), the ~1,260-token style guide as a system string",
            _SONNET,
            {"max_tokens": 5, "system": style, "messages": ask},
        ),
        (
            "Sonnet 4.6, a one-line system prompt",
            _SONNET,
            {"max_tokens": 5, "system": "You are a terse SRE assistant.", "messages": ask},
        ),
        (
            "Haiku 4.5 (minimum 4096), the same style guide",
            _HAIKU,
            {"max_tokens": 5, "system": style, "messages": ask},
        ),
        (
            "Sonnet 4.6, three tools (~420 tokens) and a ~750-token system prompt",
            _SONNET,
            {
                "max_tokens": 5,
                "tools": tools,
                "system": [{"type": "text", "text": _first_tokens(style, 750)}],
                "messages": ask,
            },
        ),
        (
            "Sonnet 4.6, system as two text blocks (style guide, then triage policy)",
            _SONNET,
            {
                "max_tokens": 5,
                "system": [{"type": "text", "text": style}, {"type": "text", "text": policy}],
                "messages": ask,
            },
        ),
    )


def _marks(params: Any) -> list[str]:
    """Where ``params`` carries cache_control, in prefix order (tools -> system -> messages)."""
    if not isinstance(params, Mapping):
        return [f"not a dict: {type(params).__name__}"]
    found = ["top-level cache_control"] if "cache_control" in params else []
    for i, tool in enumerate(params.get("tools") or []):
        if isinstance(tool, Mapping) and "cache_control" in tool:
            found.append(f"tool {i}")
    system = params.get("system")
    for i, block in enumerate(system if isinstance(system, list) else []):
        if isinstance(block, Mapping) and "cache_control" in block:
            found.append(f"system block {i}")
    for i, message in enumerate(params.get("messages") or []):
        content = message.get("content") if isinstance(message, Mapping) else None
        for j, block in enumerate(content if isinstance(content, list) else []):
            if isinstance(block, Mapping) and "cache_control" in block:
                found.append(f"message {i} block {j}")
    return found


def _unmarked(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` without any cache_control, a string system as one text block."""
    out = copy.deepcopy(dict(params))
    out.pop("cache_control", None)
    if isinstance(out.get("system"), str):
        out["system"] = [{"type": "text", "text": out["system"]}]
    blocks = [*(out.get("tools") or []), *(out.get("system") or [])]
    for m in out.get("messages") or []:
        if isinstance(m.get("content"), list):
            blocks.extend(m["content"])
    for block in blocks:
        if isinstance(block, dict):
            block.pop("cache_control", None)
    return out


def _wire(params: Mapping[str, Any], model: str) -> str:
    """Send ``params`` twice (two different questions) to a fresh simulator: the cache usage."""
    import anthropic

    from llmlab.sim import Simulator, mock

    seen = []
    # 0.02: the 5-minute TTL lasts 6 real seconds, so a slow first call cannot expire the entry
    with track_mock(mock(sim=Simulator(seed=4, time_scale=0.02))):
        client = anthropic.Anthropic(api_key=_SIM_KEY, max_retries=0)
        for question in _QUESTIONS:
            body = {**params, "model": model}
            body["messages"] = [*params["messages"][:-1], {"role": "user", "content": question}]
            try:
                u = client.messages.create(**body).usage
            except anthropic.APIStatusError as exc:
                return f"the provider refused the request: {exc.status_code} {exc.message}"
            seen.append(
                f"write={u.cache_creation_input_tokens or 0} read={u.cache_read_input_tokens or 0}"
            )
    return "; then ".join(seen)


def _mark_hint(
    what: str, model: str, params: Mapping[str, Any], got: list[str]
) -> tuple[str, bool]:
    want = _marks(ref.cache_breakpoint(params, model))
    minimum = MODELS[model].cache_min_tokens
    system = params.get("system")
    system_only = tokens.anthropic_tokens([], system=system)
    if not want and got:
        if model == _HAIKU:
            return (
                f"the minimum depends on the model: {model} caches nothing below {minimum} tokens "
                "(MODELS[model].cache_min_tokens), so add no breakpoint",
                True,
            )
        return (
            f"below the model's minimum ({minimum} tokens here) nothing is cached: add no "
            "breakpoint",
            True,
        )
    if want and not got and params.get("tools") and system_only < minimum:
        return (
            "the cached prefix is tools -> system: count the tools' tokens too "
            "(tokens.anthropic_tokens([], system=..., tools=...))",
            True,
        )
    if want and any(g.startswith("message") or g.startswith("top") for g in got):
        return (
            "put the breakpoint at the end of the STABLE prefix (the last system block), not on "
            "the question: the next call asks something else and would miss",
            True,
        )
    if want and got and got != want and any(g.startswith("system") for g in got):
        return (
            "the breakpoint goes on the LAST system block: it caches everything before it too",
            True,
        )
    return (
        "one breakpoint, on the last system block, when tools + system reach the minimum",
        False,
    )


@exercise(
    "04.cache_breakpoint",
    "cache_breakpoint(params: dict, model: str) -> dict",
    "a copy of Anthropic params with cache_control {'type': 'ephemeral'} on the last system "
    "block (a string system becomes one text block) when tools + system reach the model's "
    "minimum (MODELS[model].cache_min_tokens); below it, an unchanged copy; never mutate params",
    ref.cache_breakpoint,
    time_limit=20.0,  # a cold first run starts the SDKs and a simulator
)
def _check_cache_breakpoint(candidate: Any) -> Iterator[Case]:
    for what, model, params in _breakpoint_cases():
        label = f"cache_breakpoint(params, {model!r}) for {what}"
        given = copy.deepcopy(params)
        got = call(label, candidate, given, model)
        want = ref.cache_breakpoint(params, model)
        if isinstance(got, Raised):
            yield Case(False, label, f"breakpoints at {_marks(want) or 'none'}", str(got), "")
            continue
        yield Case(
            given == params,
            f"{label}: the params you were given",
            "left as they were",
            "changed: " + (", ".join(_marks(given)) or "its system prompt or tools"),
            "copy first (copy.deepcopy(params)) and mark the copy: the caller reuses its params",
            diagnosed=given != params,
        )
        if not isinstance(got, Mapping):
            yield Case(False, label, "a dict of params", repr(got)[:100], "return the new params")
            continue
        got_marks, want_marks = _marks(got), _marks(want)
        hint, named = (
            _mark_hint(what, model, params, got_marks) if got_marks != want_marks else ("", False)
        )
        yield Case(
            got_marks == want_marks,
            f"{label}: where the breakpoint is",
            ", ".join(want_marks) or "no breakpoint",
            ", ".join(got_marks) or "no breakpoint",
            hint,
            named,
        )
        same_request = _unmarked(got) == _unmarked(params)
        yield Case(
            same_request,
            f"{label}: everything but the breakpoint",
            "the request as given (a string system may become one text block)",
            "changed",
            "add cache_control and nothing else: the model, max_tokens, messages, tools and the "
            "system text stay as they were",
        )
        running(f"{label}: sent twice to the checker's simulator")
        got_usage, want_usage = _wire(got, model), _wire(want, model)
        yield Case(
            got_usage == want_usage,
            f"{label}: sent twice, with two different questions",
            want_usage,
            got_usage,
            hint or "a breakpoint that closes the stable prefix writes it once, then reads it",
            named,
        )
