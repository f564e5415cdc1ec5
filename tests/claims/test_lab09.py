"""Lab 09's measured claims, through the real SDKs against the simulator:

* the ledger reconciles with the provider's billing truth per request id and to the cent,
  with cached calls, both providers, and failed calls (recorded with 0 tokens, never billed);
* a budget refusal happens before the call: no request reaches the provider, no row is written;
* no prompt text, API key, e-mail or card number appears in any log line.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest

import llmlab
from llmlab import BudgetExceededError
from llmlab.reference import ledger as ref
from llmlab.sim import FaultPlan, Simulator

STYLE = (llmlab.data_dir() / "style_guide.md").read_text()
KEY = b"claims-test-key"
CUSTOMERS = [
    ("jane.doe@example.com", "4111 1111 1111 1111"),
    ("raj@northwind.cloud", "5500-0000-0000-0004"),
]


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Simulator, ref.Ledger, io.StringIO, Path]]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-claims09-secret-key")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-claims09-secret-key")
    sim = Simulator(seed=9, time_scale=0.002)
    with llmlab.sim.mock(sim=sim):
        conn = ref.open_ledger(tmp_path / "ledger.db")
        logger = logging.getLogger("llmlab.test09.calls")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        buffer = io.StringIO()
        for handler in (
            logging.StreamHandler(buffer),
            logging.FileHandler(tmp_path / "calls.jsonl"),
        ):
            handler.setFormatter(ref.JsonFormatter())
            handler.addFilter(ref.RedactingFilter(KEY))
            logger.addHandler(handler)
        ledger = ref.Ledger(
            conn, logger, KEY, budgets={"acme": 1.0, "initech": 0.006}, clock=sim.clock.now
        )
        yield sim, ledger, buffer, tmp_path
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)
        conn.close()


def _prompts(i: int) -> tuple[str, str]:
    email, card = CUSTOMERS[i % 2]
    return (
        f"Summarise incident {i % 4} for the status page.",
        f"Customer {email} (card {card}) asks why checkout failed, case {i % 3}.",
    )


def _traffic(sim: Simulator, ledger: ref.Ledger, calls: int = 18) -> dict[str, int]:
    claude = anthropic.Anthropic(max_retries=0)
    gpt = openai.OpenAI(max_retries=0)
    sim.set_faults(FaultPlan.scripted([None] * 3 + ["500"] + [None] * 5 + ["529", "503"]))
    outcome = {"ok": 0, "error": 0}
    for i in range(calls):
        summary, support = _prompts(i)
        try:
            if i % 2 == 0:
                system = [{"type": "text", "text": STYLE, "cache_control": {"type": "ephemeral"}}]
                ledger.call(
                    lambda s=system, u=summary: ref.stream_anthropic(
                        claude,
                        model="claude-sonnet-4-6",
                        max_tokens=40,
                        system=s,
                        messages=[{"role": "user", "content": u}],
                    ),
                    provider="anthropic",
                    model="claude-sonnet-4-6",
                    feature="summarise",
                    tenant="acme",
                    prompt=summary,
                )
            else:
                ledger.call(
                    lambda u=support: ref.stream_openai(
                        gpt,
                        model="gpt-4.1-mini",
                        max_completion_tokens=40,
                        messages=[
                            {"role": "system", "content": STYLE},
                            {"role": "user", "content": u},
                        ],
                    ),
                    provider="openai",
                    model="gpt-4.1-mini",
                    feature="support",
                    tenant="acme",
                    prompt=support,
                )
            outcome["ok"] += 1
        except (anthropic.APIError, openai.APIError):
            outcome["error"] += 1
        sim.advance(seconds=30)
    return outcome


def test_ledger_reconciles_with_billing_to_the_cent(world) -> None:  # type: ignore[no-untyped-def]
    sim, ledger, _, _ = world
    outcome = _traffic(sim, ledger)
    conn = ledger.conn
    assert outcome["error"] == 3 and outcome["ok"] == 15
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert tables == [("calls",)]
    ok = dict(conn.execute("SELECT request_id, cost_usd FROM calls WHERE status='ok'").fetchall())
    errors = conn.execute(
        "SELECT request_id, prompt_tokens, cost_usd FROM calls WHERE status='error'"
    ).fetchall()
    bills = sim.billing.by_request()
    assert len(errors) == 3 and all(t == 0 and c == 0.0 for _, t, c in errors)
    assert not any(r in bills for r, _, _ in errors)  # failed calls are not billed
    assert set(ok) == set(bills) and len(ok) == len(sim.billing.records) == 15
    for request_id, usd in ok.items():
        assert usd == pytest.approx(bills[request_id].cost_usd, abs=1e-12)
    total = conn.execute("SELECT SUM(cost_usd) FROM calls").fetchone()[0]
    assert round(total, 2) == round(sim.billing.total_usd, 2)
    assert total == pytest.approx(sim.billing.total_usd, abs=1e-9)
    # caching really happened on both providers, so the cache conventions were exercised
    reads = dict(
        conn.execute("SELECT provider, SUM(cache_read_tokens) FROM calls GROUP BY provider")
    )
    writes = conn.execute("SELECT SUM(cache_write_tokens) FROM calls").fetchone()[0]
    assert reads["anthropic"] > 0 and reads["openai"] > 0 and writes > 0


def test_budget_refuses_before_any_request(world) -> None:  # type: ignore[no-untyped-def]
    sim, ledger, _, _ = world
    claude = anthropic.Anthropic(max_retries=0)
    system = [{"type": "text", "text": STYLE, "cache_control": {"type": "ephemeral"}}]
    request = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 60,
        "system": system,
        "messages": [{"role": "user", "content": "Summarise incident 1."}],
    }
    estimate = ref.estimate_usd(
        "claude-sonnet-4-6",
        input_tokens=llmlab.tokens.anthropic_tokens(request["messages"], system=system),
        max_tokens=60,
        provider="anthropic",
    )
    assert 0.003 < estimate < 0.006

    def send() -> tuple[object, float]:
        return ref.stream_anthropic(claude, **request)

    kwargs = {
        "provider": "anthropic",
        "model": "claude-sonnet-4-6",
        "feature": "summarise",
        "tenant": "initech",
        "prompt": "Summarise incident 1.",
        "estimate_usd": estimate,
    }
    ledger.call(send, **kwargs)  # fits: $0 spent + estimate <= $0.006
    before = sim.upstream_calls
    rows = ledger.conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    assert before == 1 and rows == 1
    with pytest.raises(BudgetExceededError):
        ledger.call(send, **kwargs)
    assert sim.upstream_calls == before
    assert len(sim.billing.records) == 1
    assert ledger.conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == rows


def test_no_secrets_in_logs(world) -> None:  # type: ignore[no-untyped-def]
    sim, ledger, buffer, tmp_path = world
    _traffic(sim, ledger, calls=8)
    ledger.logger.warning("refund for %s on card %s", *CUSTOMERS[0])
    lines = buffer.getvalue().splitlines()
    file_lines = (tmp_path / "calls.jsonl").read_text().splitlines()
    assert len(lines) == len(file_lines) == 9
    needles = [os.environ["ANTHROPIC_API_KEY"], os.environ["OPENAI_API_KEY"]]
    for i in range(8):
        needles += list(_prompts(i))
    for email, card in CUSTOMERS:
        needles += [email, card, card.replace(" ", "").replace("-", ""), card[-4:] + " "]
    for line in lines + file_lines:
        for needle in needles:
            assert needle not in line, (needle, line)
        assert ref.redact(line, KEY) == line  # nothing e-mail- or card-shaped is left
    assert "<email:" in lines[-1] and "<card:" in lines[-1]
