"""Lab 09 exercises: a ledger row from SDK usage, redaction with keyed fingerprints, budgets."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import anthropic.types
import openai.types
import openai.types.chat

from llmlab._exceptions import BudgetExceededError
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, call, current_case
from llmlab.reference import ledger as ref
from llmlab.reference import redact as ref_redact

# -- 09.ledger_row --------------------------------------------------------------------------

_ROW_KEYS = (
    "request_id",
    "provider",
    "model",
    "feature",
    "tenant",
    "status",
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "latency_ms",
    "ttft_ms",
)

_HINTS = {
    "prompt_tokens": "prompt_tokens is the FULL input: Anthropic input_tokens + cache writes + "
    "cache reads; OpenAI prompt_tokens as reported (it already includes cached_tokens)",
    "cache_read_tokens": "Anthropic: usage.cache_read_input_tokens; OpenAI: "
    "usage.prompt_tokens_details.cached_tokens",
    "cache_write_tokens": "Anthropic: usage.cache_creation_input_tokens (OpenAI has no write fee)",
    "cost_usd": "price uncached input, output, cache writes (5m and 1h) and reads separately: "
    "llmlab.pricing.cost(model, input_tokens=UNCACHED, ...); OpenAI's uncached part is "
    "prompt_tokens - cached_tokens, Anthropic's is input_tokens; pass the 1h writes as "
    "cache_write_1h_tokens",
}


def _anthropic_msg(
    mid: str, uncached: int, output: int, w5: int = 0, w1h: int = 0, read: int = 0
) -> Any:
    return anthropic.types.Message.model_validate(
        {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": "Rolled back the deploy."}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": uncached,
                "output_tokens": output,
                "cache_creation_input_tokens": w5 + w1h,
                "cache_read_input_tokens": read,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": w5,
                    "ephemeral_1h_input_tokens": w1h,
                },
                "service_tier": "standard",
            },
        }
    )


def _openai_usage(prompt: int, completion: int, cached: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def _openai_completion(cid: str, prompt: int, completion: int, cached: int = 0) -> Any:
    return openai.types.chat.ChatCompletion.model_validate(
        {
            "id": cid,
            "object": "chat.completion",
            "created": 1_760_000_000,
            "model": "gpt-4.1-mini-2025-04-14",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Rolled back the deploy."},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": _openai_usage(prompt, completion, cached),
        }
    )


def _openai_usage_chunk(cid: str, prompt: int, completion: int, cached: int) -> Any:
    return openai.types.chat.ChatCompletionChunk.model_validate(
        {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": 1_760_000_000,
            "model": "gpt-4.1-mini-2025-04-14",
            "choices": [],
            "usage": _openai_usage(prompt, completion, cached),
        }
    )


def _row_cases() -> list[tuple[str, Any, str, float, float | None]]:
    return [
        ("Anthropic, no cache", _anthropic_msg("msg_01A", 120, 40), "anthropic", 812.5, 430.0),
        (
            "Anthropic, 5m cache write of 1256",
            _anthropic_msg("msg_01B", 16, 41, w5=1256),
            "anthropic",
            901.0,
            455.5,
        ),
        (
            "Anthropic, cache read of 1256",
            _anthropic_msg("msg_01C", 16, 51, read=1256),
            "anthropic",
            640.0,
            None,
        ),
        (
            "Anthropic, 1h cache write of 2000",
            _anthropic_msg("msg_01D", 20, 30, w1h=2000),
            "anthropic",
            1000.0,
            500.0,
        ),
        (
            "Anthropic, 1h write 1024 + 5m write 300 + read 500",
            _anthropic_msg("msg_01E", 12, 64, w5=300, w1h=1024, read=500),
            "anthropic",
            700.0,
            350.0,
        ),
        (
            "OpenAI, no cache",
            _openai_completion("chatcmpl-A1", 300, 50),
            "openai",
            520.0,
            None,
        ),
        (
            "OpenAI, 1152 of 1251 prompt tokens cached",
            _openai_completion("chatcmpl-B2", 1251, 32, cached=1152),
            "openai",
            480.0,
            300.0,
        ),
        (
            "OpenAI stream's usage chunk, 1024 of 2100 cached",
            _openai_usage_chunk("chatcmpl-C3", 2100, 77, 1024),
            "openai",
            1500.0,
            420.0,
        ),
    ]


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, float) and isinstance(a, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


@exercise(
    "09.ledger_row",
    "ledger_row(response, *, provider: str, feature: str, tenant: str, latency_ms: float, "
    "ttft_ms: float | None = None) -> dict",
    "map an SDK response's usage onto a ledger row (request_id, provider, model, feature, "
    "tenant, status='ok', prompt_tokens = ALL input, completion_tokens, cache_read_tokens, "
    "cache_write_tokens, cost_usd via llmlab.pricing.cost, latency_ms, ttft_ms)",
    ref.ledger_row,
)
def _check_ledger_row(candidate: Any) -> Iterator[Case]:
    for label, response, provider, latency, ttft in _row_cases():
        kwargs = {"provider": provider, "feature": "triage", "tenant": "acme"}
        want = ref.ledger_row(response, latency_ms=latency, ttft_ms=ttft, **kwargs)
        got = call(label, candidate, response, latency_ms=latency, ttft_ms=ttft, **kwargs)
        if not isinstance(got, dict):
            shown = str(got) if isinstance(got, Raised) else type(got).__name__
            yield Case(False, label, "a dict", shown, "return a plain dict")
            continue
        wrong = [k for k in _ROW_KEYS if k not in got or not _same(got[k], want[k])]
        if not wrong:
            yield Case(True, label)
            continue
        key = wrong[0]
        yield Case(
            False,
            f"{label}: field {key!r}",
            repr(want[key]),
            repr(got.get(key, "<missing>")),
            _HINTS.get(key, f"copy {key} from the response / arguments as documented"),
        )


# -- 09.redact ------------------------------------------------------------------------------

_KEY_A = b"llmlab-lab09-checker-key-A"
_KEY_B = b"llmlab-lab09-checker-key-B"
_PLAIN = (
    "Incident INC-20931: checkout p95 rose to 850 ms at 10:42 on 2024-05-01; "
    "order 123456 retried 3 times (port 8080, v2.14.1)."
)
_EMAILS = ("jane.doe@example.com", "ops+pager@northwind.cloud")
_CARDS = ("4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005")


def _card_leaks(out: str, card: str) -> list[str]:
    digits = re.sub(r"\D", "", card)
    runs = re.findall(r"(?<![0-9A-Za-z])\d{4,}(?![0-9A-Za-z])", out)
    return [r for r in runs if r in digits]


@exercise(
    "09.redact",
    "redact(text: str, key: bytes) -> str",
    "replace e-mail addresses and card numbers with keyed (HMAC) fingerprints; the same value "
    "under the same key gives the same fingerprint; every other character is kept",
    ref_redact.redact,
)
def _check_redact(candidate: Any) -> Iterator[Case]:
    def redact(text: str, key: bytes) -> str:
        out = call(f"redact({text!r}, key)", candidate, text, key)
        if isinstance(out, Raised):
            raise _Stopped(out)
        return str(out)

    try:
        yield from _redact_cases(redact)
    except _Stopped as stop:
        yield Case(
            False,
            current_case(),
            "a string with the e-mails and card numbers replaced",
            str(stop.raised),
            "hmac.new(key, value.encode(), hashlib.sha256): key is bytes already, the value "
            "must be encoded to bytes"
            if isinstance(stop.raised.exc, TypeError)
            else "redact must return the text, whatever it contains",
        )


class _Stopped(Exception):
    """The learner's redact raised: the remaining cases cannot run."""

    def __init__(self, raised: Raised) -> None:
        super().__init__(str(raised))
        self.raised = raised


def _redact_cases(candidate: Callable[[str, bytes], str]) -> Iterator[Case]:
    got = candidate(_PLAIN, _KEY_A)
    yield Case(
        got == _PLAIN,
        "text with no e-mail or card number",
        repr(_PLAIN),
        repr(got),
        "leave non-sensitive text alone: ids, times, ports and short numbers are not cards",
    )
    for email in _EMAILS:
        text = f"Customer {email} reported order 123456 failed at 10:42."
        out = candidate(text, _KEY_A)
        yield Case(
            email not in out and email.split("@")[0] not in out,
            f"e-mail {email!r} in {text!r}",
            "no trace of the address",
            repr(out),
            "match the whole address (local part, @, domain) and replace it",
        )
        yield Case(
            out.startswith("Customer ") and out.endswith(" reported order 123456 failed at 10:42."),
            f"text around {email!r}",
            "'Customer ' ... ' reported order 123456 failed at 10:42.' unchanged",
            repr(out),
            "replace only the sensitive value, not the words or numbers around it",
        )
    for card in _CARDS:
        text = f"Refund to card {card} please."
        out = candidate(text, _KEY_A)
        leaks = _card_leaks(out, card)
        yield Case(
            not leaks and card not in out,
            f"card {card!r}",
            "no digits of the card left (not even the last four)",
            repr(out),
            "replace the whole number, separators included; masking with a visible tail "
            "still leaks digits",
        )
        yield Case(
            out.startswith("Refund to card ") and out.endswith(" please."),
            f"text around card {card!r}",
            "'Refund to card ' ... ' please.' unchanged",
            repr(out),
            "replace only the card number",
        )
    text = f"{_EMAILS[0]} paid with {_CARDS[0]}"
    a1, a2, b = candidate(text, _KEY_A), candidate(text, _KEY_A), candidate(text, _KEY_B)
    yield Case(
        a1 == a2,
        "the same text twice under the same key",
        "identical output (fingerprints correlate)",
        f"{a1!r} then {a2!r}",
        "derive the fingerprint from the value and the key only (no random salt, no counter)",
    )
    yield Case(
        a1 != b and a1 != text,
        "the same text under two different keys",
        "different fingerprints (keyed, e.g. hmac.new(key, value, sha256))",
        f"{a1!r} and {b!r}",
        "a bare hash is unkeyed: anyone can hash a guessed e-mail and find it in your logs",
    )
    bare = [
        hashlib.sha256(v.encode()).hexdigest()[:8]
        for v in (_EMAILS[0], _CARDS[0], re.sub(r"\D", "", _CARDS[0]))
    ]
    yield Case(
        not any(h in a1 for h in bare),
        "fingerprint is not an unkeyed SHA-256 of the value",
        "no bare sha256 prefix in the output",
        repr(a1),
        "use an HMAC with the key",
    )
    two = candidate(f"from {_EMAILS[0]} to {_EMAILS[1]}", _KEY_A)
    again = candidate(f"cc {_EMAILS[0]}", _KEY_A)
    tok = again[len("cc ") :]
    yield Case(
        tok in two and two.count(tok) == 1,
        "two different e-mails, then the first one again",
        "distinct fingerprints, the first one repeated",
        f"{two!r} / {again!r}",
        "one fingerprint per distinct value",
    )
    upper = candidate("from Jane.Doe@Example.COM", _KEY_A)
    lower = candidate("from jane.doe@example.com", _KEY_A)
    yield Case(
        upper == lower,
        "the same e-mail in two spellings (Jane.Doe@Example.COM, jane.doe@example.com)",
        "the same fingerprint (lower-case the address before hashing)",
        f"{upper!r} vs {lower!r}",
        "e-mail addresses are case-insensitive in practice: fingerprint value.lower(), so "
        "one customer correlates however they typed it",
        diagnosed=upper != lower,
    )
    spaced = candidate(f"card {_CARDS[0]}", _KEY_A)
    plain = candidate(f"card {re.sub(r'[^0-9]', '', _CARDS[0])}", _KEY_A)
    yield Case(
        spaced == plain,
        "the same card with and without spaces",
        "the same fingerprint (normalise to digits before hashing)",
        f"{spaced!r} vs {plain!r}",
        "strip spaces and dashes before fingerprinting, so one card correlates",
    )


# -- 09.check_budget ------------------------------------------------------------------------


def _budget_db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute(ref.SCHEMA)
    rows = [
        ("t1", "acme", 0.125, "ok"),
        ("t2", "acme", 0.125, "ok"),
        ("t3", "acme", 0.0, "error"),
        ("t4", "globex", 0.5, "ok"),
    ]
    for tid, tenant, usd, status in rows:
        conn.execute(
            "INSERT INTO calls (trace_id, ts, provider, model, feature, tenant, prompt_fp, "
            "prompt_tokens, completion_tokens, cache_read_tokens, cache_write_tokens, cost_usd, "
            "latency_ms, status) VALUES (?, 0, 'anthropic', 'claude-sonnet-4-6', 'triage', ?, "
            "'fp', 0, 0, 0, 0, ?, 1.0, ?)",
            (tid, tenant, usd, status),
        )
    return conn


_BUDGET_CASES = [
    # tenant, estimate, limit, refuse?, hint
    ("acme", 0.0625, 0.5, False, "acme has spent $0.25; $0.25 + $0.0625 fits in $0.50"),
    (
        "acme",
        0.375,
        0.5,
        True,
        "add the ESTIMATE of this call to what was spent: refuse if the "
        "call would take the tenant over, not only once it already is",
    ),
    (
        "acme",
        0.25,
        0.5,
        False,
        "exactly reaching the limit is allowed: refuse only when spent + estimate > limit",
    ),
    (
        "acme",
        0.125,
        0.5,
        False,
        "sum only this tenant's rows (WHERE tenant = ?): globex's spend is not acme's",
    ),
    ("globex", 0.0, 0.25, True, "a tenant already over its budget is refused"),
    (
        "initech",
        0.125,
        1.0,
        False,
        "a tenant with no rows has spent 0 (SUM over no rows is NULL: COALESCE it)",
    ),
    ("initech", 1.5, 1.0, True, "a single call estimated above the budget is refused"),
]


@exercise(
    "09.check_budget",
    "check_budget(conn: sqlite3.Connection, tenant: str, estimate_usd: float, "
    "limit_usd: float) -> None",
    "raise llmlab.BudgetExceededError if the tenant's spend in the ledger table `calls` plus "
    "this call's estimate would exceed limit_usd (reaching it exactly is allowed); else None",
    ref.check_budget,
)
def _check_check_budget(candidate: Any) -> Iterator[Case]:
    for tenant, estimate, limit, refuse, hint in _BUDGET_CASES:
        conn = _budget_db()
        label = f"check_budget(conn, {tenant!r}, estimate_usd={estimate}, limit_usd={limit})"
        outcome = call(label, candidate, conn, tenant, estimate, limit)
        if not isinstance(outcome, Raised):
            got = "returned (call allowed)"
        elif isinstance(outcome.exc, BudgetExceededError):
            got = "raised BudgetExceededError"
        else:
            got = str(outcome)
        want = "raised BudgetExceededError" if refuse else "returned (call allowed)"
        (count,) = conn.execute("SELECT COUNT(*) FROM calls").fetchone()
        yield Case(got == want, label, want, got, hint)
        yield Case(
            count == 4,
            f"{label}: the ledger is left as it was",
            "4 rows",
            f"{count} rows",
            "checking a budget reads the ledger; only a real call writes a row",
        )
        conn.close()


# -- 09.log_attempt ---------------------------------------------------------------------------
_SECRET_KEY = "sk-ant-api03-checker-secret-0000"
_PROMPT = "Summarise the refund for jane.doe@example.com, card 4111 1111 1111 1111"
_REQUIRED = ("trace_id", "model", "prompt_tokens", "completion_tokens", "cached_tokens")


def _attempt_row(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "request_id": "msg_01CheckerLogAttempt",
        "provider": "anthropic",
        "model": "claude-sonnet-4-6",
        "feature": "summarise",
        "tenant": "acme",
        "prompt_tokens": 1300,
        "completion_tokens": 54,
        "cache_read_tokens": 1200,
        "cache_write_tokens": 56,
        "cost_usd": 0.0012345678,
        "latency_ms": 431.5,
        "ttft_ms": 402.25,
        "status": "ok",
        "error": None,
    }
    row.update(over)
    return row


_LOG_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("an Anthropic attempt that read 1,200 cached tokens and wrote 56", _attempt_row(), "tr-1"),
    (
        "an OpenAI attempt costing $0.000036 (cache reads 1,024)",
        _attempt_row(
            request_id="chatcmpl-checker",
            provider="openai",
            model="gpt-4.1-mini",
            prompt_tokens=1303,
            completion_tokens=9,
            cache_read_tokens=1024,
            cache_write_tokens=0,
            cost_usd=3.6e-05,
        ),
        "tr-2",
    ),
    (
        "a failed attempt (InternalServerError 500, nothing billed)",
        _attempt_row(
            request_id="req_checker",
            prompt_tokens=0,
            completion_tokens=0,
            cache_read_tokens=0,
            cache_write_tokens=0,
            cost_usd=0.0,
            latency_ms=33.0,
            ttft_ms=None,
            status="error",
            error="InternalServerError 500",
        ),
        "tr-3",
    ),
    (
        "a row that also carries the prompt and the request headers",
        _attempt_row(
            prompt=_PROMPT,
            headers={"authorization": f"Bearer {_SECRET_KEY}", "x-api-key": _SECRET_KEY},
        ),
        "tr-4",
    ),
    (
        "a row the ledger already stamped with trace_id 'tr-stale'",
        _attempt_row(trace_id="tr-stale"),
        "tr-5",
    ),
]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _captured(candidate: Any, label: str, row: Mapping[str, Any], trace: str) -> Any:
    """Call the candidate with a fresh INFO logger; return its records (or what it raised)."""
    logger = logging.getLogger(f"llmlab.check.log_attempt.{trace}")
    logger.setLevel(logging.INFO)  # as lab 09's logger: DEBUG records are dropped
    logger.propagate = False
    sink = _Records()
    logger.handlers[:] = [sink]
    try:
        got = call(label, candidate, logger, MappingProxyType(dict(row)), trace_id=trace)
    finally:
        logger.handlers.clear()
    return got if isinstance(got, Raised) else sink.records


def _wanted(row: Mapping[str, Any], trace: str) -> dict[str, Any]:
    want = {k: row[k] for k in _REQUIRED if k in row}
    want.update(trace_id=trace, cached_tokens=row["cache_read_tokens"])
    want.update(cost_usd=row["cost_usd"], status=row["status"])
    if row["status"] != "ok":
        want["error"] = row["error"]
    return want


def _field_hint(key: str, got: Any, row: Mapping[str, Any]) -> tuple[str, bool]:
    """The hint for a wrong field value, and whether it names a recognised mistake."""
    if key == "cached_tokens" and got == row["cache_read_tokens"] + row["cache_write_tokens"]:
        return (
            "cached_tokens are the cache READS (served from the cache at 0.1x); cache writes "
            "were billed at 1.25x and are not 'cached' on this call",
            True,
        )
    if key == "cached_tokens" and got is None:
        return ("name the field cached_tokens (the row calls it cache_read_tokens)", True)
    if key == "trace_id" and got == row.get("trace_id"):
        return (
            "the trace_id argument names THIS attempt: set it after copying the row's fields, "
            "so a trace_id already in the row does not win",
            True,
        )
    if key == "cost_usd" and isinstance(got, int | float) and got != row["cost_usd"]:
        return ("log cost_usd as the row has it: rounding hides small calls' cost", True)
    if key == "error":
        return ("a failed attempt's record carries the row's status and error", False)
    return (f"copy {key} from the row (trace_id from the argument)", False)


def _secret_case(label: str, record: logging.LogRecord) -> Case:
    blob = json.dumps(getattr(record, "ledger", None), default=str) + " " + record.getMessage()
    blob += " " + json.dumps({k: v for k, v in vars(record).items() if k != "ledger"}, default=str)
    leaked = [
        name
        for name, s in (
            ("the prompt text", _PROMPT[:30]),
            ("the e-mail", "jane.doe@example.com"),
            ("the API key", _SECRET_KEY),
        )
        if s in blob
    ]
    return Case(
        not leaked,
        f"{label}: what the record carries",
        "no prompt text, no e-mail, no API key",
        "it carries " + ", ".join(leaked) if leaked else "none of them",
        "copy only the fields the record needs, by name (an allowlist), never the whole row: "
        "this row carried the prompt and the request headers",
        diagnosed=bool(leaked),
    )


def _log_cases(
    label: str, records: list[logging.LogRecord], row: Mapping[str, Any], trace: str
) -> Iterator[Case]:
    ok_row = row["status"] == "ok"
    want_level = "INFO" if ok_row else "WARNING"
    if len(records) != 1:
        yield Case(
            False,
            label,
            f"one {want_level} record",
            f"{len(records)} records",
            "put every field in ONE record (one line per attempt): logger.log(level, 'llm_call', "
            "extra={'ledger': fields})"
            if records
            else "log through the logger you were given, at INFO or above (it drops DEBUG)",
            diagnosed=True,
        )
        return
    (record,) = records
    yield Case(
        record.levelname == want_level,
        f"{label}: the record's level",
        want_level,
        record.levelname,
        "INFO for a successful attempt, WARNING for a failed one (failures stand out)",
    )
    fields = getattr(record, "ledger", None)
    if not isinstance(fields, Mapping):
        flat = "model" in vars(record) or "cached_tokens" in vars(record)
        yield Case(
            False,
            f"{label}: record.ledger",
            "a mapping of the fields",
            f"record.ledger is {fields!r}",
            "put the fields under extra={'ledger': {...}}: lab 09's JsonFormatter reads "
            "record.ledger"
            if flat
            else "structured means fields a program can read, not text in the message: pass "
            "extra={'ledger': {...}}",
            diagnosed=True,
        )
        return
    for key, value in _wanted(row, trace).items():
        got = fields.get(key)
        same = got == value and type(got) is type(value)
        hint, named = _field_hint(key, got, row)
        yield Case(same, f"{label}: record.ledger[{key!r}]", repr(value), repr(got), hint, named)
    yield _secret_case(label, record)


@exercise(
    "09.log_attempt",
    "log_attempt(logger: logging.Logger, row: Mapping[str, Any], *, trace_id: str) -> None",
    "log ONE record per attempt (INFO if ok, WARNING if failed) with extra={'ledger': fields}: "
    "trace_id (the argument), model, prompt_tokens, completion_tokens, cached_tokens (= cache "
    "reads), cost_usd, status, error; copy named fields only, never prompt text or secrets",
    ref.log_attempt,
)
def _check_log_attempt(candidate: Any) -> Iterator[Case]:
    for label, row, trace in _LOG_CASES:
        call_label = f"log_attempt(logger, row, trace_id={trace!r}) for {label}"
        records = _captured(candidate, call_label, row, trace)
        if isinstance(records, Raised):
            mutated = isinstance(records.exc, TypeError) and "does not support item" in str(
                records.exc
            )
            yield Case(
                False,
                call_label,
                "one record logged",
                str(records),
                "the row is read-only (a Mapping): build a new dict of fields, do not write "
                "into the row"
                if mutated
                else "read the row's fields with row[...] / row.get(...) and log them",
                diagnosed=mutated,
            )
            continue
        yield from _log_cases(call_label, records, row, trace)
