"""The HTTP server under misuse: hang-ups, keep-alive reuse, 200 clients, remote binds, admin.

Everything runs over real HTTP on loopback (the ``serving`` helper or ``python -m llmlab.sim
serve``); a remote client is played by a loopback client behind a trusted X-Forwarded-For.
Timing-dependent checks compare ratios with wide margins, so they hold on a loaded machine.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import time
from collections.abc import Iterator

import anthropic
import httpx
import pytest

import llmlab.sim
from llmlab.sim import Simulator, sdk_http
from llmlab.sim.__main__ import main
from llmlab.sim.physics._billing import BillingRecord
from llmlab.sim.testing import SimServer, serving

MODEL = "claude-sonnet-4-6"
# seed 0 answers this one (the first time a simulator sees it) with 171 tokens, 3.4 simulated s
LONG = [{"role": "user", "content": "Write the full runbook for a checkout failover, step 38."}]
SHORT = [{"role": "user", "content": "Summarise the checkout incident in a sentence."}]
SCALE = 0.3  # LONG streams for about one real second


@pytest.fixture
def slow_server() -> Iterator[SimServer]:
    with serving(Simulator(seed=0, time_scale=SCALE)) as server:
        yield server


def _settled(sim: Simulator, n: int) -> list[BillingRecord]:
    deadline = time.monotonic() + 20
    while len(sim.billing.records) < n:
        assert time.monotonic() < deadline, f"{len(sim.billing.records)} of {n} bills settled"
        time.sleep(0.02)
    return list(sim.billing.records)


def _read(client: anthropic.Anthropic, events: int | None) -> None:
    """Stream LONG and close after ``events`` events (None: read it to the end)."""
    with client.messages.create(model=MODEL, max_tokens=400, messages=LONG, stream=True) as s:
        for i, _ in enumerate(s):
            if i + 1 == events:
                break


def test_an_abandoned_stream_is_billed_for_what_was_generated(slow_server: SimServer) -> None:
    # every simulator below sees LONG for the first time, so each generates the same 111 tokens
    with llmlab.sim.mock(seed=0, time_scale=SCALE) as local:
        _read(anthropic.Anthropic(api_key="test", max_retries=0), None)
        (full,) = local.billing.records
    with llmlab.sim.mock(seed=0, time_scale=SCALE) as local:
        _read(anthropic.Anthropic(api_key="test", max_retries=0), 3)
        (local_cut,) = local.billing.records
    _read(
        anthropic.Anthropic(api_key="test", base_url=slow_server.anthropic_base_url, max_retries=0),
        3,
    )
    (http_cut,) = _settled(slow_server.sim, 1)
    assert full.complete and full.output_tokens == 111
    for cut in (local_cut, http_cut):  # over HTTP as in-process: only what was generated
        assert not cut.complete
        assert cut.output_tokens < 0.5 * full.output_tokens, (cut, full)
        assert cut.cost_usd < 0.5 * full.cost_usd


def test_each_disconnect_logs_one_line(
    slow_server: SimServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with httpx.Client(base_url=slow_server.anthropic_base_url, timeout=30) as client:
        for _ in range(10):
            with client.stream(
                "POST",
                "/v1/messages",
                headers={"x-api-key": "test", "anthropic-version": "2026-10-21"},
                json={"model": MODEL, "max_tokens": 400, "messages": LONG, "stream": True},
            ) as response:
                next(response.iter_raw())
    _settled(slow_server.sim, 10)
    time.sleep(0.2)  # let any late transport warning arrive
    server_lines = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    hangups = [r for r in server_lines if r.name == "llmlab.sim.http"]
    assert len(hangups) == 10 and len(server_lines) == 10, [r.getMessage() for r in server_lines]
    assert all("\n" not in r.getMessage() and r.exc_info is None for r in hangups)
    assert "client disconnected" in hangups[0].getMessage()


def test_a_connection_idle_past_5s_is_still_served(sim_server: SimServer) -> None:
    """uvicorn's default keep-alive (5 s) equals httpx's pool expiry, so a client reusing a
    connection raced the server's close and died with a ReadError. The server keeps it longer.
    """
    body = json.dumps({"model": MODEL, "max_tokens": 5, "messages": SHORT})
    headers = {
        "x-api-key": "test",
        "anthropic-version": "2026-10-21",
        "content-type": "application/json",
    }
    conn = http.client.HTTPConnection(sim_server.host, sim_server.port, timeout=10)
    try:
        sockets = []
        for pause in (0.0, 6.0):
            time.sleep(pause)
            conn.request("POST", "/anthropic/v1/messages", body=body, headers=headers)
            sockets.append(conn.sock)
            response = conn.getresponse()  # RemoteDisconnected if the server closed it
            assert response.status == 200 and json.loads(response.read())["type"] == "message"
        assert sockets[0] is sockets[1]  # one connection, reused after 6 idle seconds
    finally:
        conn.close()


def test_200_concurrent_requests_on_reused_connections(sim_server: SimServer) -> None:
    async def go() -> list[object]:
        mod = sdk_http("anthropic")  # the SDK's own generation: httpx or httpx2
        limits = mod.Limits(max_connections=200, max_keepalive_connections=200)
        async with mod.AsyncClient(limits=limits, timeout=60) as http:
            client = anthropic.AsyncAnthropic(
                api_key="test",
                base_url=sim_server.anthropic_base_url,
                http_client=http,
                max_retries=0,
            )

            async def one() -> object:
                try:
                    await client.messages.create(model=MODEL, max_tokens=8, messages=SHORT)
                    return "ok"
                except anthropic.APIConnectionError as exc:
                    return repr(exc.__cause__)

            results: list[object] = []
            for gap in (0.0, 0.5, 1.0):  # later waves reuse the first wave's connections
                await asyncio.sleep(gap)
                results += await asyncio.gather(*(one() for _ in range(200)))
            return results

    results = asyncio.run(go())
    assert results.count("ok") == 600, [r for r in results if r != "ok"][:5]


def test_admin_answers_loopback_and_token_holders_only() -> None:
    token = "admin-secret-0f3c"
    with serving(Simulator(seed=0, time_scale=0.01), admin_token=token) as server:
        url = f"{server.base_url}/admin/faults"
        remote = {"x-forwarded-for": "203.0.113.7"}  # uvicorn trusts this from loopback only
        assert httpx.post(url, json={"script": []}).status_code == 200
        refused = httpx.post(url, json={"script": ["500"]}, headers=remote)
        assert refused.status_code == 403 and token not in refused.text
        wrong = httpx.post(
            url, json={"script": ["500"]}, headers={**remote, "x-llmlab-admin-token": "guess"}
        )
        assert wrong.status_code == 403
        assert not server.sim.faults.script  # neither refused call changed the plan
        summary = httpx.get(f"{server.base_url}/admin/summary", headers=remote)
        assert summary.status_code == 403
        ok = httpx.post(
            url, json={"script": ["500"]}, headers={**remote, "x-llmlab-admin-token": token}
        )
        assert ok.status_code == 200 and len(server.sim.faults.script) == 1


def test_admin_without_a_token_is_loopback_only(sim_server: SimServer) -> None:
    url = f"{sim_server.base_url}/admin/advance"
    remote = {"x-forwarded-for": "198.51.100.4", "x-llmlab-admin-token": ""}
    assert httpx.post(url, json={"seconds": 60}, headers=remote).status_code == 403
    assert httpx.post(url, json={"seconds": 60}).status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.org"])
def test_serve_refuses_a_non_loopback_host_without_opt_in(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--host", host, "--port", "1"]) == 2
    out, err = capsys.readouterr()
    assert "refusing to bind" in err and "--allow-remote" in err and not out


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_need_no_opt_in(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    # a bad option stops serve after the host check and before anything binds
    assert main(["serve", "--host", host, "--faults", '{"nonsense": 2}']) == 2
    assert "refusing" not in capsys.readouterr().err


def test_serve_allow_remote_warns(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["serve", "--host", "0.0.0.0", "--allow-remote", "--faults", '{"nonsense": 2}']
    assert main(argv) == 2  # stops at the bad option, after the warning, before binding
    err = capsys.readouterr().err
    assert "WARNING" in err.splitlines()[0] and "reachable from other machines" in err
