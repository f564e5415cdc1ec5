"""The cost ledger survives what learners do: restarts, re-run cells, a write that fails, kill -9.

Calls go through the real Anthropic SDK against the in-process simulator; restarts and kill -9
happen in real child processes, so the process-wide trace-id state starts from scratch there.
"""

from __future__ import annotations

import io
import logging
import signal
import sqlite3
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import anthropic
import pytest

import llmlab
from llmlab.reference.ledger import (
    FIELDS,
    JsonFormatter,
    Ledger,
    ledger_row,
    open_ledger,
    stream_anthropic,
    trace_id,
)
from llmlab.sim import Simulator

KEY = b"ledger-test-key"
MODEL = "claude-haiku-4-5"


def _logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    logger = logging.getLogger(f"test.ledger.{name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.handlers.clear()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    return logger, buffer


def _call(ledger: Ledger, text: str) -> Any:
    client = anthropic.Anthropic(api_key="test", max_retries=0)
    return ledger.call(
        lambda: stream_anthropic(
            client, model=MODEL, max_tokens=12, messages=[{"role": "user", "content": text}]
        ),
        provider="anthropic",
        model=MODEL,
        feature="t",
        tenant="acme",
        prompt=text,
    )


def _rows(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT trace_id, request_id FROM calls ORDER BY rowid").fetchall()


def test_a_reopened_ledger_takes_the_next_call(sim: Simulator, tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    conn = open_ledger(path)
    first = [_call(Ledger(conn, _logger("a")[0], KEY), f"q{i}").id for i in range(3)]
    conn.close()
    again = Ledger(open_ledger(path), _logger("b")[0], KEY)  # the same file, a new Ledger
    answer = _call(again, "after the reopen")
    rows = _rows(path)
    assert [r[1] for r in rows] == [*first, answer.id]
    assert len({r[0] for r in rows}) == 4
    assert set(sim.billing.by_request()) == {r[1] for r in rows}


def test_rerunning_ledger_cells_is_safe(sim: Simulator, tmp_path: Path) -> None:
    conn = open_ledger(tmp_path / "ledger.db")
    logger, _ = _logger("rerun")
    for _ in range(2):  # the cell `ledger = Ledger(conn, ...)` and the traffic cell, run twice
        ledger = Ledger(conn, logger, KEY)
        for i in range(3):
            _call(ledger, f"same question {i}")
    # lab 09's own recorder: a global seq reset to 0 by a re-run cell, ids from trace_id(seq)
    for _ in range(2):
        for seq in range(1, 4):
            row = dict.fromkeys(FIELDS) | {
                "trace_id": trace_id(seq), "ts": 0.0, "provider": "anthropic", "model": MODEL,
                "feature": "t", "tenant": "acme", "prompt_fp": "fp", "prompt_tokens": 0,
                "completion_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0,
                "cost_usd": 0.0, "latency_ms": 1.0, "status": "ok",
            }  # fmt: skip
            conn.execute(
                f"INSERT INTO calls ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})",
                [row[k] for k in FIELDS],
            )
    (count,) = conn.execute("SELECT COUNT(*) FROM calls").fetchone()
    assert count == 12 and len(sim.billing.records) == 6


def test_a_failed_write_keeps_the_billed_response(sim: Simulator, tmp_path: Path) -> None:
    conn = open_ledger(tmp_path / "ledger.db")
    logger, buffer = _logger("fail")
    ledger = Ledger(conn, logger, KEY)
    conn.execute("PRAGMA query_only = ON")  # every INSERT now fails, as on a read-only disk
    with pytest.warns(llmlab.LedgerWriteWarning) as caught:
        answer = _call(ledger, "a paid-for question")
    assert answer.content[0].text  # the caller got the answer it paid for
    assert sim.billing.by_request()[answer.id].cost_usd > 0
    message = str(caught[0].message)
    assert answer.id in message and "not written" in message
    errors = [line for line in buffer.getvalue().splitlines() if '"ERROR"' in line]
    assert len(errors) == 1 and answer.id in errors[0] and "readonly" in errors[0]
    assert "a paid-for question" not in buffer.getvalue()
    conn.execute("PRAGMA query_only = OFF")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _call(ledger, "the next one is written again")
    assert conn.execute("SELECT COUNT(*) FROM calls").fetchone() == (1,)


def test_an_unpriced_response_is_still_returned(sim: Simulator, tmp_path: Path) -> None:
    ledger = Ledger(open_ledger(tmp_path / "ledger.db"), _logger("price")[0], KEY)
    client = anthropic.Anthropic(api_key="test", max_retries=0)

    def send() -> tuple[Any, float]:
        message, ttft = stream_anthropic(
            client, model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
        return message.model_copy(update={"model": "claude-unpriced-9"}), ttft

    with pytest.warns(llmlab.LedgerWriteWarning, match="PricingError"):
        answer = ledger.call(
            send, provider="anthropic", model=MODEL, feature="t", tenant="acme", prompt="hi"
        )
    assert answer.model == "claude-unpriced-9"
    with pytest.raises(llmlab.PricingError):  # the same failure outside the ledger raises
        ledger_row(answer, provider="anthropic", feature="t", tenant="acme", latency_ms=1.0)


_CHILD = textwrap.dedent(
    """
    import logging, sys
    from llmlab.reference.ledger import Ledger, open_ledger
    ledger = Ledger(open_ledger(sys.argv[1]), logging.getLogger("child"), b"k")
    row = {"provider": "anthropic", "model": "m", "feature": "f", "tenant": "t",
           "prompt_tokens": 1, "completion_tokens": 1, "cache_read_tokens": 0,
           "cache_write_tokens": 0, "cost_usd": 0.001, "latency_ms": 1.0, "status": "ok"}
    for i in range(int(sys.argv[2])):
        print(ledger.record(row, f"p{i}")["trace_id"], flush=True)  # acknowledged
    """
)


def _child(path: Path, rows: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), str(rows)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_restarted_process_continues_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    out, err = _child(path, 5).communicate(timeout=60)
    assert not err, err
    with sqlite3.connect(path) as conn:  # a learner deletes a row: ids no longer follow COUNT
        conn.execute("DELETE FROM calls WHERE trace_id = ?", (out.split()[0],))
    out2, err2 = _child(path, 5).communicate(timeout=60)  # "kernel restart": a fresh process
    assert not err2, err2
    ids = [r[0] for r in _rows(path)]
    assert len(ids) == len(set(ids)) == 9
    assert set(out2.split()) <= set(ids)


def test_kill_9_loses_no_acknowledged_row(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    proc = _child(path, 1_000_000)
    assert proc.stdout is not None
    acknowledged = [proc.stdout.readline().strip() for _ in range(2000)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    written = {r[0] for r in _rows(path)}
    assert len(written) >= 2000
    assert set(acknowledged) <= written
