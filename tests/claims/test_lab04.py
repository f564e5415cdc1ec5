"""Measured claims of lab 04 (prompt caching), re-measured through the real SDKs on a simulator."""

from __future__ import annotations

import statistics
import time
from typing import Any

import anthropic
import openai

import llmlab
import llmlab.sim
from llmlab.pricing import cost
from llmlab.reference.caching import cache_savings

MODEL, OAI_MODEL = "claude-sonnet-4-6", "gpt-4.1-mini"
STYLE = (llmlab.data_dir() / "style_guide.md").read_text()


def cached(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def ask(client: anthropic.Anthropic, system: Any, question: str, **kw: Any) -> Any:
    return client.messages.create(
        model=MODEL,
        max_tokens=kw.pop("max_tokens", 5),
        system=system,
        messages=[{"role": "user", "content": question}],
        **kw,
    ).usage


def usd(u: Any, with_cache: bool = True) -> float:
    if not with_cache:
        total = u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
        return float(cost(MODEL, input_tokens=total, output_tokens=u.output_tokens).total_usd)
    return float(
        cost(
            MODEL,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_write_tokens=u.cache_creation_input_tokens,
            cache_read_tokens=u.cache_read_input_tokens,
        ).total_usd
    )


def test_style_guide_is_cacheable_and_read_after_warm_up() -> None:
    with llmlab.sim.mock(seed=4, time_scale=0.01):
        client = anthropic.Anthropic(api_key="test")
        n = client.messages.count_tokens(
            model=MODEL, system=STYLE, messages=[{"role": "user", "content": "hi"}]
        )
        assert n.input_tokens > 1024
        usages = [ask(client, cached(STYLE), f"Incident {i}: status?") for i in range(10)]
    assert usages[0].cache_creation_input_tokens > 0
    assert all(u.cache_read_input_tokens > 0 for u in usages[1:])
    assert sum(usd(u) for u in usages) < sum(usd(u, with_cache=False) for u in usages)


def test_short_prompt_is_not_cached() -> None:
    with llmlab.sim.mock(seed=4, time_scale=0.01):
        client = anthropic.Anthropic(api_key="test")
        usages = [ask(client, cached("You are a terse SRE assistant."), "Hi") for _ in range(2)]
    assert all(u.cache_creation_input_tokens == u.cache_read_input_tokens == 0 for u in usages)


LONG = "\n\n".join(
    (llmlab.data_dir() / f).read_text()
    for f in ["style_guide.md", "postmortem_long.md", "triage_policy.md"]
)
CORPUS = "\n\n".join(p.read_text() for p in sorted((llmlab.data_dir() / "corpus").glob("*.md")))


def _corpus_prefix(client: anthropic.Anthropic, tokens: int) -> str:
    """The notebook's corpus_prefix: about ``tokens`` tokens of the corpus, repeated."""
    n = client.messages.count_tokens(
        model=MODEL, system=CORPUS, messages=[{"role": "user", "content": "hi"}]
    ).input_tokens
    chars = round(tokens * len(CORPUS) / n)
    return (CORPUS * (chars // len(CORPUS) + 1))[:chars]


def _first_text(client: anthropic.Anthropic, params: dict[str, Any]) -> tuple[Any, float]:
    """Usage and seconds to the first text of a streamed call."""
    start = time.perf_counter()
    with client.messages.stream(model=MODEL, **params) as stream:
        next(iter(stream.text_stream))
        seconds = time.perf_counter() - start
        return stream.get_final_message().usage, seconds


def _cached_vs_uncached(
    client: anthropic.Anthropic, text: str, pairs: int
) -> tuple[float, float, float]:
    """The notebook's measurement: one write, then ``pairs`` cached (breakpoint) and uncached
    (no breakpoint) calls alternating; median cached / uncached TTFT and the two medians."""

    def call(system: Any, question: str) -> tuple[Any, float]:
        messages = [{"role": "user", "content": question}]
        return _first_text(client, {"max_tokens": 5, "system": system, "messages": messages})

    call(cached(text), "warm-up")
    hot, cold = [], []
    for i in range(pairs):
        hot.append(call(cached(text), f"Question {i}?"))
        cold.append(call(text, f"Question {i}?"))
    assert all(u.cache_read_input_tokens > 4000 for u, _ in hot)
    assert all(not u.cache_read_input_tokens and u.input_tokens > 4000 for u, _ in cold)
    t_hot = statistics.median(t for _, t in hot)
    t_cold = statistics.median(t for _, t in cold)
    return t_hot / t_cold, t_hot, t_cold


# Notebook claims (section 2): cached / uncached TTFT below 0.95 at the ~4.7k-token prefix
# (expected 0.82), below 0.8 at ~10k tokens (Anthropic published 0.69) and below 0.35 at
# ~100k (published 0.21); the gain grows with the prefix. Time scale 0.2, as the notebook's
# ``sim.clock.at_least(0.2)``: a cached 100k TTFT (110 ms) outlasts the ~40 ms (~100 ms beside
# two CPU hogs) the simulator and the SDK spend on a 100k-token request (at 0.1 that work made
# it read 0.48). 4.7k at 0.5: its ~20 ms difference at 0.2 let the SDK's per-call cost under
# two hogs pull the ratio to 0.91.
def test_cache_cuts_ttft_more_the_longer_the_prefix_as_published() -> None:
    ratios = {}
    for size, scale, pairs, claim in (
        (4_700, 0.5, 8, 0.95),
        (10_000, 0.2, 8, 0.8),
        (100_000, 0.2, 3, 0.35),
    ):
        with llmlab.sim.mock(seed=4, time_scale=scale):
            client = anthropic.Anthropic(api_key="test")
            text = LONG if size == 4_700 else _corpus_prefix(client, size)
            ratio, hot, cold = _cached_vs_uncached(client, text, pairs)
        assert ratio < claim, (size, ratio, hot, cold)
        ratios[size] = ratio
    assert ratios[100_000] < ratios[10_000] < ratios[4_700], ratios


def test_invalidation_pitfalls_and_ttl() -> None:
    with llmlab.sim.mock(seed=4, time_scale=0.01) as sim:
        client = anthropic.Anthropic(api_key="test")
        stamped = [ask(client, cached(f"Now: {i}\n\n{STYLE}"), "Open incidents?") for i in range(3)]
        assert all(u.cache_read_input_tokens == 0 < u.cache_creation_input_tokens for u in stamped)

        def tool(name: str) -> dict[str, Any]:
            schema = {"type": "object", "properties": {"service": {"type": "string"}}}
            return {"name": name, "description": name, "input_schema": schema}

        tools = [tool("get_runbook"), tool("get_oncall"), tool("get_dashboard")]
        shuffled = [
            ask(client, cached(STYLE), "On call?", tools=[tools[i] for i in order])
            for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0])
        ]
        assert all(u.cache_read_input_tokens == 0 for u in shuffled)
        ordered = sorted(tools, key=lambda t: t["name"])
        stable = [ask(client, cached(STYLE), "On call?", tools=ordered) for _ in range(2)]
        assert stable[1].cache_read_input_tokens > 0

        ask(client, cached(STYLE), "Status?")
        sim.advance(minutes=4)
        assert ask(client, cached(STYLE), "Status?").cache_read_input_tokens > 0
        sim.advance(minutes=4)
        assert ask(client, cached(STYLE), "Status?").cache_read_input_tokens > 0
        sim.advance(minutes=6)
        expired = ask(client, cached(STYLE), "Status?")
        assert expired.cache_read_input_tokens == 0 < expired.cache_creation_input_tokens


def test_openai_caches_long_prompts_automatically() -> None:
    with llmlab.sim.mock(seed=4, time_scale=0.01):
        client = openai.OpenAI(api_key="test")
        cached_tokens = []
        for system in ("You are a terse SRE assistant.", STYLE):
            for question in ("Draft a status update.", "Summarise the outage."):
                usage = client.chat.completions.create(
                    model=OAI_MODEL,
                    max_tokens=5,
                    messages=[
                        {"role": "system", "content": system},
                        {"role": "user", "content": question},
                    ],
                ).usage
                assert usage is not None and usage.prompt_tokens_details is not None
                cached_tokens.append(usage.prompt_tokens_details.cached_tokens)
    assert cached_tokens[:3] == [0, 0, 0]
    assert cached_tokens[3] >= 1024 and cached_tokens[3] % 128 == 0


def test_traffic_every_86_seconds_writes_once_and_matches_the_one_write_estimate() -> None:
    """Notebook claim: 50 calls spaced 86 s write once; savings match writes_per_day=1."""
    with llmlab.sim.mock(seed=4, time_scale=0.01) as sim:
        client = anthropic.Anthropic(api_key="test")
        day = []
        for i in range(50):
            day.append(ask(client, cached(STYLE), f"Ticket {i}: one-line summary.", max_tokens=16))
            sim.advance(seconds=86)
    writes = sum(u.cache_creation_input_tokens > 0 for u in day)
    assert writes == 1
    measured = 1 - sum(usd(u) for u in day) / sum(usd(u, with_cache=False) for u in day)
    n = len(day)
    prefix = round(sum(u.cache_read_input_tokens + u.cache_creation_input_tokens for u in day) / n)
    uncached = round(sum(u.input_tokens for u in day) / n)
    out = round(sum(u.output_tokens for u in day) / n)
    one_write = cache_savings(n, prefix, uncached, out, 1, 3.0, 15.0)
    textbook = cache_savings(n, prefix, uncached, out, round(n * 86 / 300), 3.0, 15.0)
    assert abs(measured - one_write) < 0.01
    assert abs(measured - textbook) > 0.05


def _create_v2(client: anthropic.Anthropic, **kwargs: Any) -> Any:
    """The notebook's create_v2: the 2026-10-21 fields on anthropic 2.x or an older SDK."""
    if int(anthropic.__version__.split(".")[0]) >= 2:
        return client.messages.create(**kwargs)
    new = {k: kwargs.pop(k) for k in ("cache_control", "diagnostics") if k in kwargs}
    return client.messages.create(
        **kwargs, extra_body=new, extra_headers={"anthropic-version": "2026-10-21"}
    )


def test_top_level_cache_control_caches_a_growing_conversation_and_diagnostics_name_the_edit() -> (
    None
):
    """Notebook claims: with a top-level breakpoint turn 1 writes and each later turn reads the
    whole previous conversation; an edited system prompt reports system_changed and the tokens
    it kept out of the cache (about the whole previous prompt)."""
    auto = {"type": "ephemeral"}
    with llmlab.sim.mock(seed=4, time_scale=0.001):
        client = anthropic.Anthropic(api_key="test")
        turns: list[dict[str, Any]] = [{"role": "user", "content": "Checkout is failing."}]
        usages = []
        for turn in range(3):
            r = _create_v2(
                client, model=MODEL, max_tokens=10, system=STYLE, messages=turns, cache_control=auto
            )
            usages.append(r.usage)
            turns += [
                {"role": "assistant", "content": r.content[0].text},
                {"role": "user", "content": f"And after step {turn + 1}?"},
            ]
        assert usages[0].cache_creation_input_tokens > 1024
        assert usages[0].cache_read_input_tokens == 0
        for before, after in zip(usages, usages[1:], strict=False):
            written = before.cache_creation_input_tokens + before.cache_read_input_tokens
            assert after.cache_read_input_tokens == written
        first = turns[:1]
        base = _create_v2(
            client,
            model=MODEL,
            max_tokens=10,
            system=STYLE,
            messages=first,
            cache_control=auto,
            diagnostics={"previous_message_id": None},
        )
        same = _create_v2(
            client,
            model=MODEL,
            max_tokens=10,
            system=STYLE,
            messages=first,
            cache_control=auto,
            diagnostics={"previous_message_id": base.id},
        )
        edited = _create_v2(
            client,
            model=MODEL,
            max_tokens=10,
            system=STYLE + "\nAlways answer in English.",
            messages=first,
            cache_control=auto,
            diagnostics={"previous_message_id": same.id},
        )
    assert same.model_dump().get("diagnostics") is None
    reason = edited.model_dump()["diagnostics"]["cache_miss_reason"]
    assert reason["type"] == "system_changed"
    previous_prompt = same.usage.cache_read_input_tokens + same.usage.input_tokens
    assert reason["cache_missed_input_tokens"] == previous_prompt
    assert edited.usage.cache_read_input_tokens == 0


def test_cache_breakpoint_writes_then_reads_and_the_read_reaches_first_text_sooner() -> None:
    """Lab 04's closing step: through cache_breakpoint, each ~10k-token prefix is written once,
    read by the next question, and the median TTFT ratio read / written is below 0.8 (Anthropic
    published 0.69 at 10k tokens). Time scale 0.2, as the notebook's ``sim.clock.at_least``."""
    from llmlab.reference.caching import cache_breakpoint

    written, read = [], []
    with llmlab.sim.mock(seed=4, time_scale=0.2):
        client = anthropic.Anthropic(api_key="test")
        many = _corpus_prefix(client, 10_000)
        for i in range(5):
            base = {"max_tokens": 5, "system": f"Deployment {i}.\n\n{many}"}
            for question, into in (("Draft a status update.", written), ("Summarise.", read)):
                msgs = [{"role": "user", "content": question}]
                into.append(_first_text(client, cache_breakpoint(base | {"messages": msgs}, MODEL)))
    assert all(
        u.cache_creation_input_tokens > 9000 and not u.cache_read_input_tokens for u, _ in written
    )
    assert all(
        u.cache_read_input_tokens > 9000 and not u.cache_creation_input_tokens for u, _ in read
    )
    ratio = statistics.median(t for _, t in read) / statistics.median(t for _, t in written)
    assert ratio < 0.8, ratio
