"""In-process memory stays bounded: a call leaves behind its billing record, not its bodies.

The RSS check runs ``tests/benchmarks/bench_memory.py`` in a child process (a clean RSS); the
cache bounds are checked on the caches directly, with the bound lowered so the test is quick.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmlab.sim.physics import _cache
from llmlab.sim.physics._cache import AnthropicCache, OpenAICache, Segment

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_memory.py"


@pytest.mark.slow
def test_1500_calls_with_40kb_prompts_grow_rss_by_under_75_mb() -> None:
    """Half the issue's figure (3,000 calls, < 150 MB), to stay under a minute on a busy box."""
    run = subprocess.run(
        [sys.executable, str(BENCH), "--calls", "1500", "--prompt-kb", "40"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["billed"] == 1500 + 60  # every call really went through the simulator
    assert result["growth_mb"] < 75, result


def test_openai_prefix_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cache, "MAX_ENTRIES", 40)
    cache = OpenAICache()
    hot = list(range(2000))  # 8 prefixes of 128 tokens from 1024 on
    for i in range(30):
        cache.lookup("k", hot, now=float(i))  # refreshed on every use
        cache.lookup("k", [i + 10_000] * 2000, now=float(i))  # a flood of distinct prompts
    assert len(cache.entries) <= 40
    assert cache.lookup("k", hot, now=30.0) == 1920  # the prefix in use survives the flood


def test_anthropic_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cache, "MAX_ENTRIES", 40)
    cache = AnthropicCache()
    hot = [Segment(b"style guide", 2000, "5m")]
    for i in range(100):
        assert cache.lookup("k", hot, 1024, now=float(i)).read == (2000 if i else 0)
        cache.lookup("k", [Segment(f"doc {i}".encode(), 2000, "5m")], 1024, now=float(i))
    assert len(cache.entries) <= 40
