"""The cost ledger: one structured log line and one SQLite row per LLM call, failures included.

Pieces (lab 09 teaches each): :func:`ledger_row` maps an SDK response's usage onto a row and
prices it; :class:`JsonFormatter` turns a row into a JSON log line via the standard ``logging``
module; :func:`open_ledger` opens the one-table SQLite ledger in WAL mode; :func:`check_budget`
refuses a call before it is made; :class:`Ledger` writes every call, ok or failed, in one place.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from llmlab._exceptions import BudgetExceededError, LedgerWriteWarning
from llmlab.pricing import cost
from llmlab.reference.redact import fingerprint, redact

__all__ = [
    "FIELDS",
    "SCHEMA",
    "JsonFormatter",
    "Ledger",
    "RedactingFilter",
    "check_budget",
    "error_row",
    "estimate_usd",
    "LOG_FIELDS",
    "ledger_row",
    "log_attempt",
    "open_ledger",
    "stream_anthropic",
    "stream_openai",
    "trace_id",
]

FIELDS = (
    "trace_id",
    "ts",
    "request_id",
    "provider",
    "model",
    "feature",
    "tenant",
    "prompt_fp",
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "latency_ms",
    "ttft_ms",
    "status",
    "error",
)
"""Columns of the ledger table and keys of each JSON log line, in order."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    trace_id           TEXT PRIMARY KEY,
    ts                 REAL NOT NULL,     -- seconds (the ledger's clock)
    request_id         TEXT,              -- msg_... / resp_... / chatcmpl-... (req_... on errors)
    provider           TEXT NOT NULL,
    model              TEXT NOT NULL,
    feature            TEXT NOT NULL,
    tenant             TEXT NOT NULL,
    prompt_fp          TEXT NOT NULL,     -- keyed HMAC of the prompt, never the prompt
    prompt_tokens      INTEGER NOT NULL,  -- ALL input tokens: uncached + cache writes + reads
    completion_tokens  INTEGER NOT NULL,
    cache_read_tokens  INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cost_usd           REAL NOT NULL,
    latency_ms         REAL NOT NULL,
    ttft_ms            REAL,
    status             TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    error              TEXT
)
"""

_TRACE_NS = uuid.UUID("5b0e6c1e-9d1a-4c55-9a57-0a11c0ffee09")
_issued = threading.Lock()
_highest = 0  # the largest seq this process has turned into a uuid5 id


def trace_id(seq: int) -> str:
    """A trace id for the ``seq``-th call that never repeats within this process.

    The first time the process reaches ``seq`` the id is the uuid5 of ``seq``, so a notebook run
    top to bottom stores the same ids every time; a ``seq`` that comes round again (a re-run
    cell restarting its counter, a second ledger) gets a random uuid4 instead of a duplicate.
    """
    global _highest
    with _issued:
        if seq > _highest:
            _highest = seq
            return str(uuid.uuid5(_TRACE_NS, str(seq)))
    return str(uuid.uuid4())


def _get(obj: Any, name: str, default: Any = 0) -> Any:
    value = getattr(obj, name, default) if obj is not None else default
    return default if value is None else value


def ledger_row(
    response: Any,
    *,
    provider: str,
    feature: str,
    tenant: str,
    latency_ms: float,
    ttft_ms: float | None = None,
) -> dict[str, Any]:
    """Map an SDK response's usage onto a ledger row, priced with :func:`llmlab.pricing.cost`.

    Anthropic's ``input_tokens`` is the UNCACHED part (cache writes and reads come beside it);
    OpenAI's ``prompt_tokens`` INCLUDES ``cached_tokens`` (and OpenAI has no write fee).
    ``prompt_tokens`` in the row is always the full input, so both providers compare.
    """
    usage = response.usage
    if provider == "anthropic":
        uncached = int(usage.input_tokens)
        write = int(_get(usage, "cache_creation_input_tokens"))
        write_1h = int(_get(_get(usage, "cache_creation", None), "ephemeral_1h_input_tokens"))
        read = int(_get(usage, "cache_read_input_tokens"))
        output = int(usage.output_tokens)
    elif provider == "openai":
        read = int(_get(_get(usage, "prompt_tokens_details", None), "cached_tokens"))
        uncached = int(usage.prompt_tokens) - read
        write = write_1h = 0
        output = int(usage.completion_tokens)
    else:
        raise ValueError(f"provider must be 'anthropic' or 'openai', got {provider!r}")
    price = cost(
        response.model,
        input_tokens=uncached,
        output_tokens=output,
        cache_write_tokens=write,
        cache_write_1h_tokens=write_1h,
        cache_read_tokens=read,
        provider=provider,
    )
    return {
        "request_id": response.id,
        "provider": provider,
        "model": response.model,
        "feature": feature,
        "tenant": tenant,
        "prompt_tokens": uncached + write + read,
        "completion_tokens": output,
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "cost_usd": float(price.total_usd),
        "latency_ms": float(latency_ms),
        "ttft_ms": None if ttft_ms is None else float(ttft_ms),
        "status": "ok",
    }


def error_row(
    exc: BaseException,
    *,
    provider: str,
    model: str,
    feature: str,
    tenant: str,
    latency_ms: float,
) -> dict[str, Any]:
    """The row for a failed call: 0 tokens and $0, because the provider bills nothing for it.

    Only the error's class and status are kept (an SDK error's text can quote the request).
    """
    status = getattr(exc, "status_code", None)
    return {
        "request_id": getattr(exc, "request_id", None),
        "provider": provider,
        "model": model,
        "feature": feature,
        "tenant": tenant,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cost_usd": 0.0,
        "latency_ms": float(latency_ms),
        "ttft_ms": None,
        "status": "error",
        "error": type(exc).__name__ + (f" {status}" if status is not None else ""),
    }


def open_ledger(path: str | Path) -> sqlite3.Connection:
    """Open (or create) the SQLite ledger at ``path`` in WAL mode with its one table."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise RuntimeError(f"SQLite refused WAL mode (got {mode!r})")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(SCHEMA)
    return conn


def estimate_usd(model: str, *, input_tokens: int, max_tokens: int, provider: str) -> float:
    """Worst-case cost before sending: the whole prompt uncached, plus ``max_tokens`` of output."""
    price = cost(model, input_tokens=input_tokens, output_tokens=max_tokens, provider=provider)
    return float(price.total_usd)


def check_budget(
    conn: sqlite3.Connection, tenant: str, estimate_usd: float, limit_usd: float
) -> None:
    """Raise ``BudgetExceededError`` if ``tenant``'s spend so far plus ``estimate_usd`` would
    exceed ``limit_usd``; call it BEFORE sending, so a refused call never reaches the provider.
    """
    (spent,) = conn.execute(
        "SELECT COALESCE(SUM(cost_usd), 0) FROM calls WHERE tenant = ?", (tenant,)
    ).fetchone()
    if spent + estimate_usd > limit_usd:
        raise BudgetExceededError(
            f"tenant {tenant!r}: spent ${spent:.6f} + estimate ${estimate_usd:.6f} "
            f"> budget ${limit_usd:.6f}"
        )


LOG_FIELDS = (
    "trace_id",
    "request_id",
    "provider",
    "model",
    "feature",
    "tenant",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cost_usd",
    "latency_ms",
    "status",
    "error",
)
"""The keys of one attempt's log record (``record.ledger``): an allowlist, never the row itself."""


def log_attempt(logger: logging.Logger, row: Mapping[str, Any], *, trace_id: str) -> None:
    """Log one attempt as ONE structured record: INFO if it succeeded, WARNING if it failed.

    The fields go under ``extra={"ledger": ...}`` (what :class:`JsonFormatter` reads), copied
    from ``row`` by name, so a row carrying more (a prompt, headers) cannot leak them.
    ``cached_tokens`` is the cache reads; the ``trace_id`` argument wins over any in the row.
    """
    fields: dict[str, Any] = {k: row.get(k) for k in LOG_FIELDS}
    fields["trace_id"] = trace_id
    fields["cached_tokens"] = row.get("cache_read_tokens", 0)
    level = logging.INFO if row.get("status") == "ok" else logging.WARNING
    logger.log(level, "llm_call", extra={"ledger": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: the level, the logger, the message and the ledger fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "ledger", None)
        if isinstance(fields, Mapping):
            out.update({k: fields[k] for k in FIELDS if k in fields})
        return json.dumps(out, ensure_ascii=False)


class RedactingFilter(logging.Filter):
    """Redact e-mails and card numbers in the message and its arguments before any handler."""

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self._key = key

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self._key)
        record.args = None
        return True


def stream_anthropic(client: Any, **request: Any) -> tuple[Any, float]:
    """Stream a Messages request; return the final message and seconds to the first text."""
    start = time.perf_counter()
    ttft: float | None = None
    with client.messages.stream(**request) as stream:
        for _ in stream.text_stream:
            if ttft is None:
                ttft = time.perf_counter() - start
        message = stream.get_final_message()
    return message, ttft if ttft is not None else time.perf_counter() - start


def stream_openai(client: Any, **request: Any) -> tuple[Any, float]:
    """Stream a chat completion with usage; return the usage chunk and seconds to first text."""
    start = time.perf_counter()
    ttft: float | None = None
    last = None
    stream = client.chat.completions.create(
        stream=True, stream_options={"include_usage": True}, **request
    )
    for chunk in stream:
        if ttft is None and chunk.choices and chunk.choices[0].delta.content:
            ttft = time.perf_counter() - start
        if chunk.usage is not None:
            last = chunk
    if last is None:
        raise RuntimeError("the stream ended without a usage chunk")
    return last, ttft if ttft is not None else time.perf_counter() - start


class Ledger:
    """Every call goes through :meth:`call`: budget check, timing, then ONE :meth:`record`.

    ``record`` is the only writer: it inserts the row and logs the same fields as one JSON line,
    for successes and failures alike. ``clock`` stamps rows (pass a simulator's clock for
    reproducible plots); ``budgets`` maps tenant -> USD limit. A row that cannot be written is
    reported (a :class:`~llmlab.LedgerWriteWarning` and an ERROR log line carrying the row),
    never raised: by then the provider has billed the call, and its response must not be lost.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        logger: logging.Logger,
        key: bytes,
        *,
        budgets: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.conn, self.logger, self.key = conn, logger, key
        self.budgets = dict(budgets or {})
        self.clock = clock
        conn.execute(SCHEMA)
        # continue after the rows already there (a reopened file after a kernel restart)
        (self.seq,) = conn.execute("SELECT COUNT(*) FROM calls").fetchone()

    def record(self, row: Mapping[str, Any], prompt: str) -> dict[str, Any]:
        """Insert one row and log it; the prompt is kept only as its keyed fingerprint."""
        self.seq += 1
        full: dict[str, Any] = dict.fromkeys(FIELDS)
        full.update(row)
        full["trace_id"] = trace_id(self.seq)
        full["ts"] = round(self.clock(), 3)
        # Timings to the microsecond: 15-digit float tails look like card numbers to scanners.
        for k in ("latency_ms", "ttft_ms"):
            if full[k] is not None:
                full[k] = round(full[k], 3)
        full["prompt_fp"] = fingerprint(prompt, self.key)
        written = self._insert(full)
        level = logging.INFO if full["status"] == "ok" else logging.WARNING
        self.logger.log(level, "llm_call", extra={"ledger": full})
        if written is not None:
            self._report(full, written)
        return full

    def _insert(self, full: dict[str, Any]) -> sqlite3.Error | None:
        """Insert ``full``; a trace id some other writer already used is replaced and retried.

        Returns the error that kept the row out of the table, or None once it is in.
        """
        placeholders = ", ".join("?" for _ in FIELDS)
        sql = f"INSERT INTO calls ({', '.join(FIELDS)}) VALUES ({placeholders})"
        for _ in range(3):
            try:
                self.conn.execute(sql, [full[k] for k in FIELDS])
                return None
            except sqlite3.IntegrityError as exc:
                if "calls.trace_id" not in str(exc):
                    return exc
                full["trace_id"] = str(uuid.uuid4())
            except sqlite3.Error as exc:  # locked, read-only, disk full, closed connection
                return exc
        return sqlite3.IntegrityError("no free trace id after 3 attempts")

    def _report(self, full: Mapping[str, Any], exc: BaseException) -> None:
        """Say loudly that a row is not in the table, naming it; the log line keeps its fields."""
        what = f"{type(exc).__name__}: {exc}"
        self.logger.error("ledger_write_failed %s", what, extra={"ledger": full})
        warnings.warn(
            f"ledger row {full.get('trace_id')} (request {full.get('request_id')}, tenant "
            f"{full.get('tenant')!r}, ${full.get('cost_usd') or 0:.6f}) was not written to the "
            f"ledger ({what}); the call's response is returned and the row is in the log",
            LedgerWriteWarning,
            stacklevel=3,
        )

    def call(
        self,
        send: Callable[[], tuple[Any, float]],
        *,
        provider: str,
        model: str,
        feature: str,
        tenant: str,
        prompt: str,
        estimate_usd: float = 0.0,
    ) -> Any:
        """Check the tenant's budget, run ``send()`` (returns response and TTFT s), record it.

        Once ``send()`` has returned, the response is returned whatever happens to its row.
        """
        if tenant in self.budgets:
            check_budget(self.conn, tenant, estimate_usd, self.budgets[tenant])
        start = time.perf_counter()
        try:
            response, ttft = send()
        except Exception as exc:
            latency = (time.perf_counter() - start) * 1000
            self.record(
                error_row(
                    exc,
                    provider=provider,
                    model=model,
                    feature=feature,
                    tenant=tenant,
                    latency_ms=latency,
                ),
                prompt,
            )
            raise
        latency = (time.perf_counter() - start) * 1000
        try:
            row = ledger_row(
                response,
                provider=provider,
                feature=feature,
                tenant=tenant,
                latency_ms=latency,
                ttft_ms=ttft * 1000,
            )
        except Exception as exc:  # e.g. a model missing from the price snapshot
            partial = {"request_id": getattr(response, "id", None), "tenant": tenant}
            self._report({"provider": provider, "model": model, **partial}, exc)
            return response
        self.record(row, prompt)
        return response

    def rows(self, where: str = "1=1", params: Iterable[Any] = ()) -> Iterator[sqlite3.Row]:
        """Rows of the ledger as ``sqlite3.Row`` (a small convenience for plots)."""
        cur = self.conn.cursor()
        cur.row_factory = sqlite3.Row
        yield from cur.execute(f"SELECT * FROM calls WHERE {where} ORDER BY ts", tuple(params))
