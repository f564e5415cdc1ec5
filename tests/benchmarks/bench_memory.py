"""Benchmark: how much memory in-process simulator calls keep (RSS growth per call).

Run: ``.venv/bin/python tests/benchmarks/bench_memory.py [--calls 3000] [--prompt-kb 40]``
(``--warmup N``: calls before the first RSS reading, default 60). Not collected by pytest:
``tests/sim/test_memory.py`` runs it as a slow test. Every call sends a different ~40 KB
prompt through the real SDKs (both providers, streamed and not), so nothing can be shared
between calls; the simulator should keep only the small billing record and a repeat counter
per call. Prints one JSON line: the RSS growth in MB and per call.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path
from typing import Any

import anthropic
import openai

import llmlab
import llmlab.sim


def rss_mb() -> float:
    """Resident set size of this process, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _document(kb: int) -> str:
    """About ``kb`` KB of incident reports; each call puts its own number in front of it."""
    reports = [
        json.loads(line)["report"]
        for line in (llmlab.data_dir() / "incident_reports.jsonl").read_text().splitlines()
    ]
    text = " ".join(reports)
    while len(text) < kb * 1024:
        text += " " + text
    return text[: kb * 1024 - 40] + " Summarise the case in a line."


def _one(i: int, prompt: str, claude: anthropic.Anthropic, gpt: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": prompt}]
    kind = i % 4
    if kind == 0:
        claude.messages.create(model="claude-haiku-4-5", max_tokens=16, messages=messages)
    elif kind == 1:
        gpt.chat.completions.create(model="gpt-4.1-mini", max_tokens=16, messages=messages)
    elif kind == 2:
        with claude.messages.stream(
            model="claude-haiku-4-5", max_tokens=16, messages=messages
        ) as stream:
            stream.get_final_message()
    else:
        chunks = gpt.chat.completions.create(
            model="gpt-4.1-mini",
            max_tokens=16,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in chunks:
            pass


def measure(calls: int, prompt_kb: int, warmup: int = 60) -> dict[str, float]:
    """RSS growth (MB) over ``calls`` calls after ``warmup`` calls, all with distinct prompts."""
    base = _document(prompt_kb)
    with llmlab.sim.mock(seed=0, time_scale=1e-6) as sim:
        claude = anthropic.Anthropic(api_key="bench", max_retries=0)
        gpt = openai.OpenAI(api_key="bench", max_retries=0)
        for i in range(warmup):
            _one(i, f"{i:06d} {base}", claude, gpt)
        gc.collect()
        before = rss_mb()
        start = time.perf_counter()
        for i in range(warmup, warmup + calls):
            _one(i, f"{i:06d} {base}", claude, gpt)
        seconds = time.perf_counter() - start
        gc.collect()
        after = rss_mb()
        billed = len(sim.billing.records)
    return {
        "calls": calls,
        "prompt_kb": prompt_kb,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "growth_mb": round(after - before, 1),
        "kb_per_call": round((after - before) * 1024 / calls, 2),
        "seconds": round(seconds, 1),
        "billed": billed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--prompt-kb", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=60, help="calls before the first RSS reading")
    args = parser.parse_args()
    print(json.dumps(measure(args.calls, args.prompt_kb, args.warmup)))


if __name__ == "__main__":
    main()
