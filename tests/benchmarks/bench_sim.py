"""Benchmark: what the simulator adds per SDK call, how fast it streams, and its cache physics.

Run (either SDK world; not collected by pytest, and ``tests/run_all.sh`` does not run it)::

    .venv/bin/python tests/benchmarks/bench_sim.py [--calls 200] [--notebooks] [--cpu-time]
    LLMLAB_WORLD=legacy .venv-legacy/bin/python tests/benchmarks/bench_sim.py

Overhead: the same SDK call is answered alternately by the in-process simulator (time scale
1e-6, so simulated latency vanishes and what remains is the simulator's own CPU cost) and by a
bare ``MockTransport`` of the SDK's own HTTP generation (``llmlab.sim.sdk_http``) replaying the
exact bytes the simulator produced for that request, so both sides parse the same body and
the ratio is the simulator's cost alone (the simulator forgets, before each timed call, how often
it saw the request, so every call answers with the recorded reply, not a longer or shorter
later draw). Medians of interleaved calls (a load spike hits both). Each figure prints against
issue 18's target (ratio <= 1.3x; >= 20,000 SSE events/s in-process).

SSE events/s counts the stream events the SDK parsed off the wire and yielded (``ping`` it
drops), not the ``text`` events ``MessageStream`` derives from each delta (printed beside it),
per second of the whole ``messages.stream`` call, for the short reply the overhead calls get and
for a ~80-token one (where the per-call cost weighs less than the per-event one).

Cache physics: cached / uncached time to first token of a 4.7k-, 10k- and 100k-token prompt on
claude-sonnet-4-6, through ``messages.stream`` (expected 0.82 / 0.69 / 0.21; published: 0.69
at 10k and 0.21 at 100k; see PHYSICS.md).
``--notebooks`` also times every solution notebook at ``LLMLAB_TIME_SCALE=0.05``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import openai

import llmlab.sim
import llmlab.tokens

MODEL_A = "claude-sonnet-4-6"
MODEL_O = "gpt-4.1-mini"
MESSAGES: list[Any] = [
    {"role": "user", "content": "Summarise the checkout incident runbook in a sentence."}
]
#: a prompt whose seeded reply is ~100 tokens: events/s of a longer stream
LONG_MESSAGES: list[Any] = [
    {"role": "user", "content": "Tell me everything about the course corpus."}
]
MAX_TOKENS = 30
STREAM_TOKENS = 200
#: the events MessageStream derives from a wire event and yields beside it
DERIVED_EVENTS = frozenset({"text", "thinking", "input_json", "citation", "signature"})
ROOT = Path(__file__).resolve().parents[2]
#: issue 18's targets: simulator / bare-mock time per SDK call, and SSE events per second
MAX_RATIO = 1.3
MIN_EVENTS_PER_SECOND = 20_000
#: what overhead() and events_per_second() time calls with (--cpu-time: this thread's CPU time,
#: steadier on a shared machine; simulated latency is ~0 at time scale 1e-6, so both agree idle)
_stopwatch = time.perf_counter


def _against(value: float, target: float, *, at_most: bool, unit: str = "x") -> str:
    """``1.42x (target <= 1.3x, missed)``: a figure printed against its target."""
    met = value <= target if at_most else value >= target
    sign = "<=" if at_most else ">="
    shown = f"{value:,.0f}{unit}" if unit == "/s" else f"{value:.2f}{unit}"
    goal = f"{target:,.0f}{unit}" if unit == "/s" else f"{target:g}{unit}"
    return f"{shown} (target {sign} {goal}, {'met' if met else 'missed'})"


def _calls_a(client: anthropic.Anthropic) -> dict[str, Callable[[], object]]:
    def create() -> object:
        return client.messages.create(model=MODEL_A, max_tokens=MAX_TOKENS, messages=MESSAGES)

    def stream() -> int:
        with client.messages.stream(
            model=MODEL_A, max_tokens=STREAM_TOKENS, messages=MESSAGES
        ) as s:
            return sum(1 for _ in s)

    return {"anthropic messages.create": create, "anthropic messages.stream": stream}


def _calls_o(client: openai.OpenAI) -> dict[str, Callable[[], object]]:
    def create() -> object:
        return client.chat.completions.create(
            model=MODEL_O, max_tokens=MAX_TOKENS, messages=MESSAGES
        )

    def stream() -> int:
        chunks = client.chat.completions.create(
            model=MODEL_O,
            max_tokens=STREAM_TOKENS,
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        return sum(1 for _ in chunks)

    return {"openai chat.completions.create": create, "openai chat stream": stream}


def _replaying(provider: str, recorded: dict[str, tuple[int, dict[str, str], bytes]]) -> Any:
    """A client of ``provider``'s HTTP generation whose MockTransport replays recorded bytes."""
    http = llmlab.sim.sdk_http(provider)  # type: ignore[arg-type]

    def handler(request: Any) -> Any:
        key = "stream" if b'"stream":true' in request.content.replace(b" ", b"") else "create"
        status, headers, body = recorded[key]
        return http.Response(status, headers=headers, content=body)

    return http.Client(transport=http.MockTransport(handler))


def _recorder(provider: str, sink: dict[str, tuple[int, dict[str, str], bytes]]) -> Any:
    """A client of ``provider``'s HTTP generation that keeps what the simulator answered."""
    http = llmlab.sim.sdk_http(provider)  # type: ignore[arg-type]

    class Recording(http.HTTPTransport):  # type: ignore[misc,name-defined]
        def handle_request(self, request: Any) -> Any:
            response = super().handle_request(request)
            body = response.read()
            key = "stream" if b'"stream":true' in request.content.replace(b" ", b"") else "create"
            sink[key] = (response.status_code, dict(response.headers), body)
            return http.Response(response.status_code, headers=response.headers, content=body)

    return http.Client(transport=Recording())


def _same_reply(sim: llmlab.sim.Simulator) -> None:
    """Make ``sim`` answer the next request as it answered its first sight of it (the bytes a
    bare mock replays): it forgets how often it saw each request body."""
    sim._seen.clear()


def overhead(calls: int) -> dict[str, float]:
    """Median simulator / bare-mock time per call type, interleaved call by call."""
    recorded_a: dict[str, tuple[int, dict[str, str], bytes]] = {}
    recorded_o: dict[str, tuple[int, dict[str, str], bytes]] = {}
    ratios: dict[str, float] = {}
    with llmlab.sim.mock(seed=0, time_scale=1e-6) as sim:
        sim_a = _calls_a(anthropic.Anthropic(api_key="test", max_retries=0))
        sim_o = _calls_o(openai.OpenAI(api_key="test", max_retries=0))
        # record what the simulator answers, then replay those bytes from a bare mock
        for fn in (
            *_calls_a(
                anthropic.Anthropic(
                    api_key="test", max_retries=0, http_client=_recorder("anthropic", recorded_a)
                )
            ).values(),
            *_calls_o(
                openai.OpenAI(
                    api_key="test", max_retries=0, http_client=_recorder("openai", recorded_o)
                )
            ).values(),
        ):
            _same_reply(sim)
            fn()
        bare_a = _calls_a(
            anthropic.Anthropic(
                api_key="test", max_retries=0, http_client=_replaying("anthropic", recorded_a)
            )
        )
        bare_o = _calls_o(
            openai.OpenAI(
                api_key="test", max_retries=0, http_client=_replaying("openai", recorded_o)
            )
        )
        pairs = [(name, sim_a[name], bare_a[name]) for name in sim_a]
        pairs += [(name, sim_o[name], bare_o[name]) for name in sim_o]
        clock = "thread CPU time" if _stopwatch is time.thread_time else "wall time"
        print(f"per-call medians of {calls} interleaved calls (time_scale=1e-6, {clock})")
        for name, simulated, bare in pairs:
            for _ in range(5):
                _same_reply(sim)
                simulated(), bare()
            t_sim, t_bare = [], []
            for _ in range(calls):
                _same_reply(sim)
                start = _stopwatch()
                simulated()
                mid = _stopwatch()
                bare()
                t_bare.append(_stopwatch() - mid)
                t_sim.append(mid - start)
            ms_sim, ms_bare = statistics.median(t_sim) * 1e3, statistics.median(t_bare) * 1e3
            ratios[name] = ms_sim / ms_bare
            print(
                f"  {name:32s} bare mock {ms_bare:6.2f} ms | simulator {ms_sim:6.2f} ms | "
                f"ratio {_against(ratios[name], MAX_RATIO, at_most=True)}"
            )
    return ratios


def events_per_second(calls: int, messages: list[Any], label: str) -> tuple[float, float]:
    """SSE events per second through anthropic ``messages.stream``: in-process, and from a bare
    MockTransport replaying the same bytes (the SDK's own ceiling on this machine)."""
    recorded: dict[str, tuple[int, dict[str, str], bytes]] = {}
    rates: dict[str, list[float]] = {"sim": [], "bare": [], "sdk": []}
    counts: tuple[int, int] = (0, 0)
    with llmlab.sim.mock(seed=0, time_scale=1e-6) as sim:
        clients = {
            "sim": anthropic.Anthropic(api_key="test", max_retries=0),
            "bare": anthropic.Anthropic(
                api_key="test", max_retries=0, http_client=_replaying("anthropic", recorded)
            ),
        }
        recorder = anthropic.Anthropic(
            api_key="test", max_retries=0, http_client=_recorder("anthropic", recorded)
        )
        _same_reply(sim)
        with recorder.messages.stream(
            model=MODEL_A, max_tokens=STREAM_TOKENS, messages=messages
        ) as s:
            s.until_done()
        for i in range(calls + 5):
            for name, client in clients.items():
                _same_reply(sim)
                start = _stopwatch()
                with client.messages.stream(
                    model=MODEL_A, max_tokens=STREAM_TOKENS, messages=messages
                ) as s:
                    types = [event.type for event in s]
                seconds = _stopwatch() - start
                wire = sum(1 for t in types if t not in DERIVED_EVENTS)
                counts = (wire, len(types))
                if i >= 5:
                    rates[name].append(wire / seconds)
                    if name == "sim":
                        rates["sdk"].append(len(types) / seconds)
    sim_rate, bare, sdk = (statistics.median(rates[k]) for k in ("sim", "bare", "sdk"))
    against = _against(sim_rate, MIN_EVENTS_PER_SECOND, at_most=False, unit="/s")
    print(
        f"anthropic messages.stream, {label} ({counts[0]} SSE events the SDK yields, "
        f"{counts[1]} with its derived text events; median of {calls} interleaved streams):\n"
        f"  SSE events/s in-process {against}"
        f" | bare mock {bare:,.0f}/s (the SDK's own ceiling here; in-process/bare "
        f"{sim_rate / bare:.2f}) | MessageStream events/s in-process {sdk:,.0f}/s"
    )
    return sim_rate, bare


#: (prompt tokens cached, time scale, Anthropic's published cached / uncached TTFT or None):
#: lab 04's ~4.7k-token prefix, the launch's 10k-token many-shot prompt (1.6 s -> 1.1 s) and
#: its 100k-token book (11.5 s -> 2.4 s); 0.2 as lab 04's ``sim.clock.at_least(0.2)``
CACHE_POINTS = ((4_700, 0.2, None), (10_000, 0.2, 1.1 / 1.6), (100_000, 0.2, 2.4 / 11.5))


def _corpus_prefix(n_tokens: int) -> str:
    """The course corpus repeated and cut to ``n_tokens`` tokens of MODEL_A's tokenizer."""
    corpus = "\n\n".join(p.read_text() for p in sorted((ROOT / "data" / "corpus").glob("*.md")))
    enc = llmlab.tokens.encoding_for(MODEL_A)
    ids = enc.encode(corpus, disallowed_special=())
    return enc.decode((ids * (n_tokens // len(ids) + 1))[:n_tokens])


def cache_ttft(pairs: int = 5) -> dict[int, float]:
    """Cached / uncached TTFT on MODEL_A through ``messages.stream`` at each CACHE_POINTS size.

    One call writes the prefix (and lets the simulator memoise its parse of the text), then
    ``pairs`` interleaved calls read it (breakpoint) or send it uncached (no breakpoint); the
    ratio of the medians is printed against the profile's expectation and the published one.
    """
    from llmlab.sim import MODELS, RateLimits
    from llmlab.sim.physics._clock import SimClock

    p = MODELS[MODEL_A].latency
    client = anthropic.Anthropic(api_key="test", max_retries=0)

    def first_text(system: Any) -> tuple[float, Any]:
        start = time.perf_counter()
        with client.messages.stream(
            model=MODEL_A, max_tokens=5, system=system, messages=MESSAGES
        ) as stream:
            next(iter(stream.text_stream))
            seconds = time.perf_counter() - start
            return seconds, stream.get_final_message().usage

    ratios: dict[int, float] = {}
    print(f"cache TTFT cached / uncached ({MODEL_A}, via SDK, median of {pairs} pairs):")
    for tokens, scale, published in CACHE_POINTS:
        text = _corpus_prefix(tokens)
        block = [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]
        sim = llmlab.sim.Simulator(seed=1, clock=SimClock.manual(scale), rate_limits=RateLimits())
        with llmlab.sim.mock(sim):
            first_text(block)
            hot, cold = [], []
            for _ in range(pairs):
                hot.append(first_text(block))
                cold.append(first_text(text))
        assert all(u.cache_read_input_tokens == tokens for _, u in hot)
        assert all(not u.cache_read_input_tokens for _, u in cold)
        t_hot, t_cold = (statistics.median(t for t, _ in calls) for calls in (hot, cold))
        ratios[tokens] = t_hot / t_cold
        rest = hot[0][1].input_tokens
        expected = (p.base + rest * p.prefill_per_token + tokens * p.cached_per_token) / (
            p.base + (rest + tokens) * p.prefill_per_token
        )
        against = f"; published {published:.2f}" if published else ""
        print(
            f"  {tokens:>7,} tokens at time scale {scale}: [ratio={ratios[tokens]:.2f}] "
            f"(expected {expected:.2f}{against})"
        )
    return ratios


#: issue 18's target per solution notebook at the CI time scale, kernel start included
MAX_NOTEBOOK_SECONDS = 10.0
#: the fixed part every notebook pays before its lesson: the SDKs, matplotlib and llmlab imported
_SETUP_ONLY = (
    "import anthropic, openai, matplotlib.pyplot as plt\nimport llmlab\nllmlab.setup()\n"
    "from llmlab.sim import mock\nwith mock(seed=0):\n"
    "    anthropic.Anthropic(api_key='test').messages.create(model='claude-sonnet-4-6', "
    "max_tokens=5, messages=[{'role': 'user', 'content': 'hi'}])\n"
    "    openai.OpenAI(api_key='test').chat.completions.create(model='gpt-4.1-mini', "
    "max_tokens=5, messages=[{'role': 'user', 'content': 'hi'}])\n"
)


def _nbconvert_seconds(nb: Path, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--stdout",
            str(nb),
        ],
        env=env,
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - start, done.returncode


def notebooks() -> None:
    """Wall-clock seconds per solution notebook at LLMLAB_TIME_SCALE=0.05 (nbconvert, kernel
    start included), after two baselines: an empty notebook (nbconvert and the kernel alone) and
    one cell that imports the SDKs, matplotlib and llmlab and makes one call of each provider."""
    import tempfile

    import nbformat

    env = {**os.environ, "LLMLAB_TIME_SCALE": "0.05", "MPLBACKEND": "Agg"}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cells in (("empty notebook", []), ("imports + setup + 2 calls", [_SETUP_ONLY])):
            path = Path(tmp) / "baseline.ipynb"
            nbformat.write(
                nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]),
                path,
            )
            seconds, _ = _nbconvert_seconds(path, env)
            print(f"  baseline: {name:30s} {seconds:6.1f} s")
    for nb in sorted((ROOT / "solutions").glob("*.ipynb")):
        seconds, rc = _nbconvert_seconds(nb, env)
        status = _against(seconds, MAX_NOTEBOOK_SECONDS, at_most=True, unit=" s")
        print(f"  {nb.name:40s} {status}" + ("" if rc == 0 else f" (exit {rc})"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--notebooks", action="store_true", help="time each solution notebook")
    parser.add_argument(
        "--cpu-time", action="store_true", help="time overhead and events/s in thread CPU time"
    )
    args = parser.parse_args()
    if args.cpu_time:
        global _stopwatch
        _stopwatch = time.thread_time
    print(
        f"anthropic {anthropic.__version__} / openai {openai.__version__} on "
        f"{llmlab.sim.sdk_http('anthropic').__name__}"
    )
    overhead(args.calls)
    events_per_second(args.calls, MESSAGES, "short reply")
    events_per_second(args.calls, LONG_MESSAGES, "long reply")
    cache_ttft()
    if args.notebooks:
        notebooks()


if __name__ == "__main__":
    main()
