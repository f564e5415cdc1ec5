"""Lab 02 checkers: the per-call cost rule, a running cost meter, per-message prompt shares.

Each case targets a plausible mistake (see the hints); ``tests/exercises/test_lab02.py`` keeps
those wrong versions and asserts each one fails.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

from anthropic.types import Usage
from openai.types import CompletionUsage
from openai.types.completion_usage import PromptTokensDetails

from llmlab.check._diagnose import Mistake, verdict
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, call, running, track_mock
from llmlab.reference import cost as ref


def _usd(value: Any) -> str:
    try:
        return f"${float(value):.8f}"
    except (TypeError, ValueError):
        return repr(value)


def _same(got: Any, want: float) -> bool:
    try:
        value = float(got)
    except (TypeError, ValueError):
        return False
    return math.isfinite(value) and math.isclose(value, want, rel_tol=1e-9, abs_tol=1e-15)


# (kwargs, hint)
_COST_CASES: list[tuple[dict[str, Any], str]] = [
    (
        {"input_tokens": 1000, "output_tokens": 500, "price_in": 3.0, "price_out": 15.0},
        "prices are USD per MILLION tokens: divide by 1e6",
    ),
    (
        {
            "input_tokens": 200,
            "output_tokens": 300,
            "price_in": 3.0,
            "price_out": 15.0,
            "cache_write_tokens": 5000,
        },
        "cache writes cost write_multiplier x price_in and are NOT also counted as input",
    ),
    (
        {
            "input_tokens": 200,
            "output_tokens": 300,
            "price_in": 3.0,
            "price_out": 15.0,
            "cache_read_tokens": 5000,
        },
        "cache reads cost read_multiplier (0.10) x price_in, not 1.25x",
    ),
    (
        {
            "input_tokens": 120,
            "output_tokens": 80,
            "price_in": 0.4,
            "price_out": 1.6,
            "cache_write_tokens": 3000,
            "cache_read_tokens": 7000,
            "write_multiplier": 2.0,
            "read_multiplier": 0.25,
        },
        "use the multipliers passed in: writes x write_multiplier, reads x read_multiplier",
    ),
    (
        {"input_tokens": 0, "output_tokens": 0, "price_in": 3.0, "price_out": 15.0},
        "no tokens, no cost",
    ),
    (
        {
            "input_tokens": 0,
            "output_tokens": 1,
            "price_in": 3.0,
            "price_out": 15.0,
            "cache_read_tokens": 1_000_000,
        },
        "a million cache reads at $3/M and 0.10x cost $0.30",
    ),
]


def _call(kwargs: dict[str, Any]) -> str:
    return "cost_usd(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def _priced(
    kw: dict[str, Any],
    *,
    out_price: str = "price_out",
    per: float = 1e6,
    write: float | None = None,
    read: float | None = None,
    writes_as_input: bool = False,
    output: bool = True,
    cache: bool = True,
) -> float:
    """``cost_usd`` with one knob turned the way a plausible mistake turns it."""
    full = {
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "write_multiplier": 1.25,
        "read_multiplier": 0.10,
        **kw,
    }
    w = full["write_multiplier"] if write is None else write
    r = full["read_multiplier"] if read is None else read
    inp = full["input_tokens"] + (full["cache_write_tokens"] if writes_as_input else 0)
    total = inp * full["price_in"]
    if cache:
        total += full["price_in"] * (full["cache_write_tokens"] * w + full["cache_read_tokens"] * r)
    if output:
        total += full["output_tokens"] * full[out_price]
    return float(total / per)


def _cost_mistakes(kw: dict[str, Any]) -> list[Mistake]:
    return [
        (
            "output tokens are priced at price_out, not price_in",
            lambda: _priced(kw, out_price="price_in"),
        ),
        (
            "add the output tokens' cost (output_tokens x price_out)",
            lambda: _priced(kw, output=False),
        ),
        ("prices are USD per MILLION tokens: divide by 1e6", lambda: _priced(kw, per=1.0)),
        ("prices are USD per MILLION tokens: divide by 1e6, not 1e3", lambda: _priced(kw, per=1e3)),
        (
            "use the multipliers passed in (write_multiplier, read_multiplier), not fixed numbers",
            lambda: _priced(kw, write=1.25, read=0.10),
        ),
        (
            "cache writes are priced by write_multiplier alone: do not add them to the input too",
            lambda: _priced(kw, writes_as_input=True),
        ),
        (
            "cache writes cost write_multiplier x price_in (1.25x), not the plain input price",
            lambda: _priced(kw, write=1.0),
        ),
        (
            "cache reads cost read_multiplier x price_in (0.10x), not the write multiplier",
            lambda: _priced(kw, read=kw.get("write_multiplier", 1.25)),
        ),
        (
            "cache reads cost read_multiplier x price_in (0.10x), not the full input price",
            lambda: _priced(kw, read=1.0),
        ),
        (
            "price the cache writes and reads too (they are not in input_tokens)",
            lambda: _priced(kw, cache=False),
        ),
    ]


@exercise(
    "02.cost_usd",
    "cost_usd(input_tokens: int, output_tokens: int, price_in: float, price_out: float, "
    "cache_write_tokens: int = 0, cache_read_tokens: int = 0, write_multiplier: float = 1.25, "
    "read_multiplier: float = 0.10) -> float",
    "USD cost of one call; prices per million tokens; input_tokens = uncached input only",
    ref.cost_usd,
)
def _check_cost(candidate: Any) -> Iterator[Case]:
    for kwargs, hint in _COST_CASES:
        label = _call(kwargs)
        yield verdict(
            label,
            call(label, candidate, **kwargs),
            ref.cost_usd(**kwargs),
            same=_same,
            show=_usd,
            rule=hint,
            mistakes=_cost_mistakes(kwargs),
        )


def _anthropic(inp: int, out: int, write: int | None, read: int | None) -> Usage:
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        cache_creation_input_tokens=write,
        cache_read_input_tokens=read,
    )


def _openai(prompt: int, completion: int, cached: int | None) -> CompletionUsage:
    details = None if cached is None else PromptTokensDetails(cached_tokens=cached)
    return CompletionUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=details,
    )


def _describe(usage: Any) -> str:
    if isinstance(usage, CompletionUsage):
        cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else None
        return (
            f"CompletionUsage(prompt_tokens={usage.prompt_tokens}, "
            f"completion_tokens={usage.completion_tokens}, cached_tokens={cached})"
        )
    return (
        f"Usage(input_tokens={usage.input_tokens}, output_tokens={usage.output_tokens}, "
        f"cache_creation_input_tokens={usage.cache_creation_input_tokens}, "
        f"cache_read_input_tokens={usage.cache_read_input_tokens})"
    )


def _meter_mistakes(args: tuple[float, ...], usage: Any) -> list[Mistake]:
    p_in, p_out, w, r = (*args, *(1.25, 0.10)[len(args) - 2 :])
    if isinstance(usage, CompletionUsage):
        details = usage.prompt_tokens_details
        cached = (details.cached_tokens or 0) if details else 0
        out = usage.completion_tokens
        return [
            (
                "OpenAI: prompt_tokens INCLUDES cached_tokens: uncached = prompt - cached",
                lambda: ref.cost_usd(usage.prompt_tokens, out, p_in, p_out, 0, cached, w, r),
            ),
            (
                "OpenAI: the cached_tokens are billed at read_multiplier x price_in",
                lambda: ref.cost_usd(usage.prompt_tokens - cached, out, p_in, p_out, 0, 0, w, r),
            ),
            (
                "use this meter's read_multiplier, not the default 0.10",
                lambda: ref.cost_usd(usage.prompt_tokens - cached, out, p_in, p_out, 0, cached),
            ),
        ]
    write = usage.cache_creation_input_tokens or 0
    read = usage.cache_read_input_tokens or 0
    return [
        (
            "Anthropic: input_tokens is already the uncached part; do not subtract the cache",
            lambda: ref.cost_usd(
                max(usage.input_tokens - write - read, 0),
                usage.output_tokens,
                p_in,
                p_out,
                write,
                read,
                w,
                r,
            ),
        ),
        (
            "Anthropic: add cache_creation_input_tokens (x write_multiplier) and "
            "cache_read_input_tokens (x read_multiplier)",
            lambda: ref.cost_usd(usage.input_tokens, usage.output_tokens, p_in, p_out, 0, 0, w, r),
        ),
    ]


# (constructor args, usages fed in order, hint)
_METER_CASES: list[tuple[tuple[float, ...], list[Any], str]] = [
    (
        (3.0, 15.0),
        [_anthropic(1200, 300, 0, 0), _anthropic(800, 150, 0, 0)],
        "total_usd accumulates over every add(); add() returns that call's cost",
    ),
    (
        (3.0, 15.0),
        [_anthropic(50, 200, 5000, 0), _anthropic(50, 180, 0, 5000)],
        "Anthropic: input_tokens is uncached; add cache_creation (x1.25) and cache_read (x0.10)",
    ),
    (
        (3.0, 15.0),
        [_anthropic(400, 90, None, None)],
        "cache fields may be None: treat None as 0",
    ),
    (
        (0.4, 1.6, 1.25, 0.25),
        [_openai(2300, 120, 2048), _openai(700, 60, 0)],
        "OpenAI: prompt_tokens INCLUDES cached_tokens: uncached = prompt - cached",
    ),
    (
        (0.4, 1.6),
        [_openai(500, 40, None)],
        "OpenAI: prompt_tokens_details may be None: no cached tokens",
    ),
]


@exercise(
    "02.CostMeter",
    "CostMeter(price_in: float, price_out: float, write_multiplier: float = 1.25, "
    "read_multiplier: float = 0.10); .add(usage) -> float; .total_usd: float",
    "running USD total across calls from Anthropic Usage or OpenAI CompletionUsage objects",
    ref.CostMeter,
    parts=("add",),
)
def _check_meter(candidate: Any) -> Iterator[Case]:
    for args, usages, hint in _METER_CASES:
        want_meter = ref.CostMeter(*args)
        meter = call(f"CostMeter{args}", candidate, *args)
        if isinstance(meter, Raised):
            yield Case(False, f"CostMeter{args}", "a meter", str(meter), "keep the given __init__")
            continue
        for i, usage in enumerate(usages, 1):
            want = want_meter.add(usage)
            where = f"CostMeter{args}.add({_describe(usage)}) [call {i}]"
            got = call(where, meter.add, usage)
            yield verdict(
                where,
                got,
                want,
                same=_same,
                show=_usd,
                rule=hint,
                mistakes=_meter_mistakes(args, usage),
            )
            got_total = getattr(meter, "total_usd", None)
            yield Case(
                ok=_same(got_total, want_meter.total_usd),
                input=f"{where} then .total_usd",
                expected=_usd(want_meter.total_usd),
                got=_usd(got_total),
                hint=hint,
            )


_SHARE_CASES: list[tuple[list[dict[str, str]], str, str]] = [
    (
        [
            {"role": "system", "content": "You are a terse SRE assistant."},
            {"role": "user", "content": "Checkout errors in eu-west since 14:03. Help?"},
            {"role": "assistant", "content": "Check the payments dashboard first."},
        ],
        "gpt-4.1-mini",
        "count every message's 3 framing tokens and its role; divide by the whole prompt "
        "(which also has 3 reply-priming tokens)",
    ),
    (
        [
            {"role": "user", "content": "ok"},
            {"role": "user", "name": "oncall_bot", "content": "Paging the payments team now."},
        ],
        "gpt-4.1-mini",
        "a message with a name costs its tokens plus 1",
    ),
    (
        [
            {"role": "system", "content": "Résumé of incident INC-2041: 502s from checkout."},
            {"role": "user", "content": "Summarise the résumé in one line, please."},
        ],
        "gpt-4",
        "count with the MODEL's tokenizer (gpt-4 uses cl100k_base, gpt-4.1 o200k_base)",
    ),
]


def _fmt_shares(values: Any) -> str:
    try:
        return "[" + ", ".join(f"{float(v):.5f}" for v in values) + "]"
    except (TypeError, ValueError):
        return repr(values)


@exercise(
    "02.message_shares",
    "message_shares(messages: Sequence[Mapping[str, Any]], model: str = 'gpt-4.1-mini') "
    "-> list[float]",
    "each message's fraction of usage.prompt_tokens, including its per-message overhead",
    ref.message_shares,
)
def _check_shares(candidate: Any) -> Iterator[Case]:
    for messages, model, hint in _SHARE_CASES:
        want = ref.message_shares(messages, model)
        label = f"message_shares({len(messages)} messages, model={model!r})"
        got = call(label, candidate, [dict(m) for m in messages], model)
        try:
            ok = len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want, strict=True))
        except TypeError:
            ok = False
        yield Case(
            ok=ok,
            input=label,
            expected=_fmt_shares(want),
            got=str(got) if isinstance(got, Raised) else _fmt_shares(got),
            hint=hint,
        )


# -- 02.estimate_call: the estimate before the call, and the budget reservation ------------------
_SIM_KEY = "sk-llmlab-checker"  # the checker talks to its own simulator
_SYSTEM = (
    "You are Northwind Cloud's on-call assistant. Answer in at most three sentences, name the "
    "service, and say whether a human must act now."
)
_ASK = "The checkout API has returned 500s for 4% of requests since 09:12. What now?"
_A_TOOL = {
    "name": "get_status",
    "description": "Current status of one Northwind service.",
    "input_schema": {
        "type": "object",
        "properties": {"service": {"type": "string"}},
        "required": ["service"],
    },
}
_O_TOOL = {
    "type": "function",
    "function": {
        "name": "get_status",
        "description": "Current status of one Northwind service.",
        "parameters": _A_TOOL["input_schema"],
    },
}
_R_TOOL = {  # Responses' function tools are flat: name, description, parameters at the top
    "type": "function",
    "name": "get_status",
    "description": "Current status of one Northwind service.",
    "parameters": _A_TOOL["input_schema"],
    "strict": False,
}
_TURNS: list[dict[str, Any]] = [
    {"role": "user", "content": "Is payments degraded?"},
    {"role": "assistant", "content": "Yes: p99 latency doubled at 08:55; capture retries are up."},
    {"role": "user", "content": _ASK},
]
_ESTIMATE_CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "Anthropic, a system string and one question, max_tokens=400",
        "anthropic",
        "claude-sonnet-4-6",
        {"max_tokens": 400, "system": _SYSTEM, "messages": [{"role": "user", "content": _ASK}]},
    ),
    (
        "Anthropic, system as text blocks, a tool and three turns, max_tokens=1024",
        "anthropic",
        "claude-sonnet-4-6",
        {
            "max_tokens": 1024,
            "system": [{"type": "text", "text": _SYSTEM}],
            "tools": [_A_TOOL],
            "messages": _TURNS,
        },
    ),
    (
        "Anthropic (Haiku), messages only, max_tokens=50",
        "anthropic",
        "claude-haiku-4-5",
        {"max_tokens": 50, "messages": [{"role": "user", "content": _ASK}]},
    ),
    (
        "OpenAI, a system message and one question, max_tokens=300",
        "openai",
        "gpt-4.1-mini",
        {
            "max_tokens": 300,
            "messages": [
                {"role": "system", "content": _SYSTEM},
                {"role": "user", "content": _ASK},
            ],
        },
    ),
    (
        "OpenAI as lab 10's client sends it: streamed, a tool, max_completion_tokens=500",
        "openai",
        "gpt-4.1-mini",
        {
            "max_completion_tokens": 500,
            "stream": True,
            "stream_options": {"include_usage": True},
            "tools": [_O_TOOL],
            "messages": [{"role": "system", "content": _SYSTEM}, *_TURNS],
        },
    ),
    (
        "OpenAI Responses: instructions and one question, max_output_tokens=300",
        "openai",
        "gpt-4.1-mini",
        {"max_output_tokens": 300, "instructions": _SYSTEM, "input": _ASK},
    ),
    (
        "OpenAI Responses as lab 10's client sends it: streamed, store=False, a tool, "
        "a function call and its output in the input, max_output_tokens=500",
        "openai",
        "gpt-4.1-mini",
        {
            "max_output_tokens": 500,
            "stream": True,
            "store": False,
            "temperature": 1.0,
            "tools": [_R_TOOL],
            "instructions": _SYSTEM,
            "input": [
                {"role": "user", "content": "Is payments degraded?"},
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "get_status",
                    "arguments": '{"service": "payments"}',
                },
                {"type": "function_call_output", "call_id": "call_1", "output": "degraded"},
                {"role": "assistant", "content": _TURNS[1]["content"]},
                {"role": "user", "content": _ASK},
            ],
        },
    ),
]


@cache
def _reported_inputs() -> tuple[int, ...]:
    """The input tokens the provider reports for each case (sent with a 1-token reply)."""
    import anthropic
    import openai

    from llmlab.sim import Simulator, mock

    out = []
    with track_mock(mock(sim=Simulator(seed=2, time_scale=0.001))):
        a_client = anthropic.Anthropic(api_key=_SIM_KEY, max_retries=0)
        o_client = openai.OpenAI(api_key=_SIM_KEY, max_retries=0)
        for _, provider, model, params in _ESTIMATE_CASES:
            body = {k: v for k, v in params.items() if k not in ("stream", "stream_options")}
            if "input" in body:  # Responses: the smallest reply it allows
                reply = o_client.responses.create(model=model, **{**body, "max_output_tokens": 16})
                assert reply.usage is not None
                out.append(reply.usage.input_tokens)
                continue
            body.pop("max_completion_tokens", None)
            body["max_tokens"] = 1
            if provider == "anthropic":
                out.append(a_client.messages.create(model=model, **body).usage.input_tokens)
                continue
            usage = o_client.chat.completions.create(model=model, **body).usage
            assert usage is not None
            out.append(usage.prompt_tokens)
    return tuple(int(n) for n in out)


_READ_INPUT = (
    "Responses params carry instructions + input (items), not messages: count them with "
    "tokens.responses_tokens(params['input'], params.get('instructions'), params.get('tools'), "
    "model)"
)


def _responses_mistakes(model: str, params: dict[str, Any]) -> list[Mistake]:
    from llmlab import tokens

    given, instructions, tools = params["input"], params.get("instructions"), params.get("tools")
    text = json.dumps(given) + json.dumps(instructions or "") + json.dumps(tools or [])
    return [
        (
            _READ_INPUT,
            lambda: tokens.chat_tokens(params.get("messages", []), model)
            + tokens.chat_tools_tokens(tools, model),
        ),
        (
            "the instructions are input too: pass them to tokens.responses_tokens",
            lambda: tokens.responses_tokens(given, tools=tools, model=model)
            if instructions
            else _skip(),
        ),
        (
            "tool definitions are input too: pass tools= to tokens.responses_tokens",
            lambda: tokens.responses_tokens(given, instructions, model=model)
            if tools
            else _skip(),
        ),
        ("count with the tokenizer, not len(text) / 4", lambda: len(text) // 4),
    ]


def _token_mistakes(provider: str, model: str, params: dict[str, Any]) -> list[Mistake]:
    from llmlab import tokens

    if "input" in params:
        return _responses_mistakes(model, params)
    msgs, system, tools = params["messages"], params.get("system"), params.get("tools")
    text = json.dumps(msgs) + json.dumps(system or "") + json.dumps(tools or [])
    if provider == "anthropic":
        return [
            (
                "the system prompt is input too: anthropic_tokens(messages, system=..., tools=...)",
                lambda: tokens.anthropic_tokens(msgs, tools=tools) if system else _skip(),
            ),
            (
                "tool definitions are input too: pass tools= to anthropic_tokens",
                lambda: tokens.anthropic_tokens(msgs, system=system) if tools else _skip(),
            ),
            ("count with the tokenizer, not len(text) / 4", lambda: len(text) // 4),
        ]
    return [
        (
            "a chat request costs more than its text: each message adds 3 framing tokens and "
            "its role, and 3 prime the reply; use tokens.chat_tokens(messages, model)",
            lambda: sum(tokens.count(str(m.get("content", "")), model) for m in msgs),
        ),
        (
            "tool definitions are input too: add tokens.chat_tools_tokens(tools, model)",
            lambda: tokens.chat_tokens(msgs, model) if tools else _skip(),
        ),
        ("count with the tokenizer, not len(text) / 4", lambda: len(text) // 4),
    ]


def _raised_hint(exc: BaseException, params: dict[str, Any]) -> tuple[str, bool]:
    """(hint, diagnosed) for a candidate that raised on ``params``."""
    missing = str(exc) if isinstance(exc, KeyError) else ""
    if "max_tokens" in missing or "max_completion_tokens" in missing:
        return (
            "the output limit has three names: max_tokens (Anthropic), max_completion_tokens "
            "(OpenAI Chat), max_output_tokens (OpenAI Responses): read whichever is there",
            True,
        )
    if "messages" in missing and "input" in params:
        return _READ_INPUT, True
    return "read params['messages'] (and 'system' / 'tools' if present) and count them", False


def _skip() -> Any:
    raise LookupError("this mistake does not apply to this case")


def _usd_mistakes(
    provider: str, model: str, n: int, limit: int, responses: bool = False
) -> list[Mistake]:
    from llmlab.pricing import cost as price

    named = " (a Responses call names it max_output_tokens)" if responses else ""
    return [
        (  # right pricing of a wrong count: point at the count, not at the price
            "the price follows from your input count above: it is right for your count, so "
            "fix the count",
            lambda: float(
                price(model, input_tokens=n, output_tokens=limit, provider=provider).total_usd
            ),
        ),
        (
            "reserve the worst case: all of max_tokens at the OUTPUT price, not 0 output" + named,
            lambda: float(
                price(model, input_tokens=n, output_tokens=0, provider=provider).total_usd
            ),
        ),
        (
            "output tokens cost the output price: max_tokens is priced as output, not input",
            lambda: float(
                price(model, input_tokens=n + limit, output_tokens=0, provider=provider).total_usd
            ),
        ),
    ]


@exercise(
    "02.estimate_call",
    "estimate_call(provider: str, model: str, params: dict) -> tuple[int, float]",
    "(input tokens of the SDK call params counted locally, worst-case USD: all of max_tokens "
    "(or max_completion_tokens, or Responses' max_output_tokens) at the output price, the "
    "input uncached)",
    ref.estimate_call,
    time_limit=20.0,  # a cold first run starts the SDKs and a simulator
)
def _check_estimate_call(candidate: Any) -> Iterator[Case]:
    from llmlab.pricing import cost as price

    running("asking the checker's simulator what each request's input is")
    for (what, provider, model, params), reported in zip(
        _ESTIMATE_CASES, _reported_inputs(), strict=True
    ):
        label = f"estimate_call({provider!r}, {model!r}, params) for {what}"
        got = call(label, candidate, provider, model, json.loads(json.dumps(params)))
        limit = next((params[k] for k in ref.OUTPUT_LIMITS if k in params), 0)
        usd = float(
            price(model, input_tokens=reported, output_tokens=limit, provider=provider).total_usd
        )
        if isinstance(got, Raised):
            yield Case(
                False,
                label,
                f"({reported}, {usd:.8f})",
                str(got),
                *_raised_hint(got.exc, params),
            )
            continue
        shaped = isinstance(got, tuple) and len(got) == 2
        if not shaped:
            yield Case(False, label, "a tuple (input_tokens, usd)", repr(got), "return (n, usd)")
            continue
        n, got_usd = got
        yield verdict(
            f"{label}: input tokens (the provider reported {reported})",
            n,
            reported,
            same=lambda a, b: isinstance(a, int) and not isinstance(a, bool) and a == b,
            show=repr,
            rule="count what the provider will: every message, the system prompt and the tools",
            mistakes=_token_mistakes(provider, model, params),
        )
        n_used = n if isinstance(n, int) else reported
        if isinstance(got_usd, Decimal):
            yield Case(
                False,
                f"{label}: worst-case USD",
                _usd(usd),
                f"Decimal({got_usd})",
                "return a float: float(llmlab.pricing.cost(...).total_usd)",
                diagnosed=True,
            )
            continue
        yield verdict(
            f"{label}: worst-case USD",
            got_usd,
            usd,
            same=lambda a, b: _same(a, b) and isinstance(a, float),
            show=_usd,
            rule="price the input uncached and all of max_tokens as output: "
            "llmlab.pricing.cost(model, input_tokens=n, output_tokens=max_tokens, provider=...)",
            mistakes=_usd_mistakes(provider, model, n_used, limit, "input" in params),
        )
