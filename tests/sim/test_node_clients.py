"""Clients nobody here wrote: the official Node SDKs (anthropic, openai) over HTTP.

``tests/node/clients.mjs`` runs each check against ``python -m llmlab.sim serve`` and prints one
JSON line per check. The Node packages are pinned in ``tests/node/package-lock.json``
(``npm ci --prefix tests/node``; ``make test`` and CI install them).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from llmlab.sim.testing import SimServer

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
NODE = NODE_DIR / "node_modules" / ".bin" / "node"
EXPECTED = {
    "anthropic messages.create",
    "anthropic messages.stream",
    "anthropic forced tool",
    "anthropic messages.parse (output_config json_schema)",
    "anthropic count_tokens and models.list",
    "anthropic extended thinking",
    "anthropic beta toolRunner (two turns)",
    "anthropic typed 400",
    "openai chat.completions.create",
    "openai chat stream",
    "openai chat runTools",
    "openai responses.create (json_schema)",
    "openai responses.stream",
    "openai typed 400",
}


def _node() -> str:
    if NODE.exists():
        return str(NODE)
    pytest.skip(f"the Node SDKs are not installed: run `npm ci --prefix {NODE_DIR}`")
    return ""


def test_official_node_sdks_pass_every_check(sim_server: SimServer) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
        "ANTHROPIC_BASE_URL": sim_server.anthropic_base_url,
        "OPENAI_BASE_URL": sim_server.openai_base_url,
        "PATH": f"{NODE.parent}:{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        [_node(), "clients.mjs"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    failed = {r["name"]: r.get("detail", "") for r in lines if not r["ok"]}
    assert not failed, (
        f"Node SDK checks failed: {json.dumps(failed, indent=1)}\n{done.stderr[-2000:]}"
    )
    assert {r["name"] for r in lines} == EXPECTED, done.stderr[-2000:]
    # they really talked to this server: every create/stream/parse left a bill
    assert len(sim_server.sim.billing.records) >= 12


def test_node_is_the_pinned_one() -> None:
    version = subprocess.run([_node(), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("v22."), version.stdout  # openai 7.x needs Node >= 22
