"""OpenAI response details: ``created`` is the wall clock, logprobs list every completion
token, a dated snapshot id comes back as sent, and /v1/models passes the SDK's strict checks.

Through the installed SDK, in-process (``sim``) and over HTTP (``sim_server``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import openai
import pytest

from llmlab.sim.testing import SimServer

USER = [{"role": "user", "content": "Tell me about prompt caching for the checkout service."}]


@pytest.fixture(params=["in-process", "http"])
def client(request: pytest.FixtureRequest) -> Iterator[openai.OpenAI]:
    if request.param == "http":
        server: SimServer = request.getfixturevalue("sim_server")
        yield openai.OpenAI(
            api_key="test", base_url=server.openai_base_url, _strict_response_validation=True
        )
    else:
        request.getfixturevalue("sim")
        yield openai.OpenAI(api_key="test", _strict_response_validation=True)


def test_created_is_the_current_unix_time(client: openai.OpenAI) -> None:
    before = int(time.time())
    reply = client.chat.completions.create(model="gpt-4.1-mini", messages=USER, max_tokens=5)
    assert before <= reply.created <= int(time.time()) + 1


@pytest.mark.parametrize("stop", [None, ["."], [" the"]])
def test_one_logprobs_entry_per_completion_token(
    client: openai.OpenAI, stop: list[str] | None
) -> None:
    for i in range(6):
        messages = [{"role": "user", "content": f"Explain retries with backoff, take {i}."}]
        reply = client.chat.completions.create(
            model="gpt-4.1-mini",
            messages=messages,  # type: ignore[arg-type]
            max_tokens=60,
            logprobs=True,
            top_logprobs=2,
            stop=stop,
        )
        choice = reply.choices[0]
        assert choice.logprobs is not None and choice.logprobs.content is not None
        assert reply.usage is not None
        entries = choice.logprobs.content
        assert len(entries) == reply.usage.completion_tokens
        assert "".join(e.token for e in entries).startswith(choice.message.content or "")
        stream = client.chat.completions.create(
            model="gpt-4.1-mini",
            messages=messages,  # type: ignore[arg-type]
            max_tokens=60,
            logprobs=True,
            stop=stop,
            stream=True,
            stream_options={"include_usage": True},
        )
        n, usage = 0, None
        for chunk in stream:
            for c in chunk.choices:
                n += len(c.logprobs.content or []) if c.logprobs else 0
            usage = chunk.usage or usage
        assert usage is not None and n == usage.completion_tokens


def test_a_snapshot_id_comes_back_as_sent(client: openai.OpenAI) -> None:
    alias = client.chat.completions.create(model="gpt-4.1-mini", messages=USER, max_tokens=3)
    assert alias.model == "gpt-4.1-mini-2025-04-14"
    snapshot = "gpt-4o-mini-2024-07-18"
    dated = client.chat.completions.create(model=snapshot, messages=USER, max_tokens=3)
    assert dated.model == "gpt-4o-mini-2024-07-18"


def test_models_pass_strict_validation(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "gpt-4.1-mini" in ids
    assert client.models.retrieve("gpt-4.1-mini").id == "gpt-4.1-mini"
