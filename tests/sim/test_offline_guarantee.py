"""Simulator mode is offline whatever the environment says: base URLs and proxies are overridden.

A counting HTTP server on loopback stands in for a corporate gateway and a proxy. With the
base-URL and proxy variables pointing at it, a notebook's calls through both SDKs (sync, async,
streaming) must succeed from the simulator while the server counts 0 requests.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

_NOTEBOOK_CALLS = textwrap.dedent(
    """
    import asyncio, anthropic, openai, llmlab

    sim = llmlab.setup(seed=0)
    user = [{"role": "user", "content": "Status of checkout?"}]
    a, o = anthropic.Anthropic(max_retries=0), openai.OpenAI(max_retries=0)
    a.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=user)
    with a.messages.stream(model="claude-sonnet-4-6", max_tokens=8, messages=user) as s:
        s.get_final_text()
    o.chat.completions.create(model="gpt-4.1-mini", max_tokens=8, messages=user)

    async def more():
        aa = anthropic.AsyncAnthropic(max_retries=0)
        await aa.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=user)
        ao = openai.AsyncOpenAI(max_retries=0)
        await ao.chat.completions.create(model="gpt-4.1-mini", max_tokens=8, messages=user)

    asyncio.run(more())
    print("BILLED", len(sim.billing.records))
    """
)


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def _count(self) -> None:
        _Counter.hits.append(f"{self.command} {self.path}")
        self.send_response(502)
        self.end_headers()

    do_GET = do_POST = do_CONNECT = _count

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def counting_server() -> Iterator[str]:
    _Counter.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.mark.parametrize("via", ["base-url", "proxy"])
def test_redirecting_variables_reach_nothing_and_setup_says_so(
    counting_server: str, via: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LLMLAB_PROVIDER"}
    env |= {
        "LLMLAB_TIME_SCALE": "0.01",
        "ANTHROPIC_API_KEY": "sk-ant-a-real-looking-key",
        "OPENAI_API_KEY": "sk-a-real-looking-key",
    }
    if via == "base-url":
        env |= {
            "ANTHROPIC_BASE_URL": f"{counting_server}/gateway/anthropic",
            "OPENAI_BASE_URL": f"{counting_server}/gateway/openai/v1",
        }
    else:
        env |= {"HTTPS_PROXY": counting_server, "HTTP_PROXY": counting_server}
    run = subprocess.run(
        [sys.executable, "-c", _NOTEBOOK_CALLS],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert _Counter.hits == []
    assert "BILLED 5" in run.stdout
    names = {
        "base-url": "ANTHROPIC_BASE_URL, OPENAI_BASE_URL",
        "proxy": "HTTPS_PROXY, HTTP_PROXY",
    }[via]
    assert f"llmlab: {names} set, and overridden" in run.stdout
    assert "real-looking-key" not in run.stdout + run.stderr
