"""Lab 09 checkers pass the reference, reject plausible wrong answers, and spot stubs."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from llmlab import BudgetExceededError
from llmlab.check import run
from llmlab.pricing import cost
from llmlab.reference import ledger as ref
from llmlab.reference import redact as ref_redact

from ._helpers import first_hint

IDS = ("09.ledger_row", "09.redact", "09.check_budget", "09.log_attempt")


def test_references_pass() -> None:
    assert run("09.ledger_row", ref.ledger_row).passed
    assert run("09.redact", ref_redact.redact).passed
    assert run("09.check_budget", ref.check_budget).passed


@pytest.mark.parametrize("exercise_id", IDS)
def test_stubs_are_not_attempted(exercise_id: str) -> None:
    def stub(*_: Any, **__: Any) -> Any:
        raise NotImplementedError

    result = run(exercise_id, stub)
    assert not result.attempted and not result.passed


# -- wrong ledger_row variants -------------------------------------------------------------------
def _row(
    response: Any,
    provider: str,
    feature: str,
    tenant: str,
    latency_ms: float,
    ttft_ms: float | None,
    *,
    uncached: int,
    output: int,
    write: int,
    write_1h: int,
    read: int,
    prompt_tokens: int,
) -> dict[str, Any]:
    usd = cost(
        response.model,
        input_tokens=uncached,
        output_tokens=output,
        cache_write_tokens=write,
        cache_write_1h_tokens=write_1h,
        cache_read_tokens=read,
        provider=provider,
    ).total_usd
    return {
        "request_id": response.id,
        "provider": provider,
        "model": response.model,
        "feature": feature,
        "tenant": tenant,
        "status": "ok",
        "prompt_tokens": prompt_tokens,
        "completion_tokens": output,
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "cost_usd": float(usd),
        "latency_ms": latency_ms,
        "ttft_ms": ttft_ms,
    }


def _counts(response: Any, provider: str) -> tuple[int, int, int, int, int]:
    u = response.usage
    if provider == "anthropic":
        w1h = u.cache_creation.ephemeral_1h_input_tokens if u.cache_creation else 0
        return (
            u.input_tokens,
            u.output_tokens,
            u.cache_creation_input_tokens or 0,
            w1h,
            u.cache_read_input_tokens or 0,
        )
    cached = u.prompt_tokens_details.cached_tokens or 0
    return u.prompt_tokens - cached, u.completion_tokens, 0, 0, cached


def row_openai_double_counts(
    response: Any,
    *,
    provider: str,
    feature: str,
    tenant: str,
    latency_ms: float,
    ttft_ms: float | None = None,
) -> dict[str, Any]:
    """Prices OpenAI's prompt_tokens as uncached input AND cached_tokens as reads."""
    uncached, output, write, w1h, read = _counts(response, provider)
    if provider == "openai":
        uncached = response.usage.prompt_tokens
    return _row(
        response,
        provider,
        feature,
        tenant,
        latency_ms,
        ttft_ms,
        uncached=uncached,
        output=output,
        write=write,
        write_1h=w1h,
        read=read,
        prompt_tokens=(uncached + write + read) if provider == "anthropic" else uncached,
    )


def row_anthropic_subtracts_cache(
    response: Any,
    *,
    provider: str,
    feature: str,
    tenant: str,
    latency_ms: float,
    ttft_ms: float | None = None,
) -> dict[str, Any]:
    """Applies OpenAI's convention to Anthropic: takes input_tokens as the full prompt."""
    uncached, output, write, w1h, read = _counts(response, provider)
    if provider == "anthropic":
        # "input_tokens includes the cache": prices only input_tokens, treating reads as inside
        read = min(read, uncached)
    return _row(
        response,
        provider,
        feature,
        tenant,
        latency_ms,
        ttft_ms,
        uncached=uncached - read,
        output=output,
        write=write,
        write_1h=w1h,
        read=read,
        prompt_tokens=uncached + write if provider == "anthropic" else uncached + read,
    )


def row_ignores_cache_writes(
    response: Any,
    *,
    provider: str,
    feature: str,
    tenant: str,
    latency_ms: float,
    ttft_ms: float | None = None,
) -> dict[str, Any]:
    uncached, output, _, _, read = _counts(response, provider)
    return _row(
        response,
        provider,
        feature,
        tenant,
        latency_ms,
        ttft_ms,
        uncached=uncached,
        output=output,
        write=0,
        write_1h=0,
        read=read,
        prompt_tokens=uncached + read,
    )


def row_all_writes_5m(
    response: Any,
    *,
    provider: str,
    feature: str,
    tenant: str,
    latency_ms: float,
    ttft_ms: float | None = None,
) -> dict[str, Any]:
    uncached, output, write, _, read = _counts(response, provider)
    return _row(
        response,
        provider,
        feature,
        tenant,
        latency_ms,
        ttft_ms,
        uncached=uncached,
        output=output,
        write=write,
        write_1h=0,
        read=read,
        prompt_tokens=uncached + write + read,
    )


def row_prompt_tokens_uncached_only(
    response: Any,
    *,
    provider: str,
    feature: str,
    tenant: str,
    latency_ms: float,
    ttft_ms: float | None = None,
) -> dict[str, Any]:
    """Right cost, but prompt_tokens = the uncached part only."""
    uncached, output, write, w1h, read = _counts(response, provider)
    return _row(
        response,
        provider,
        feature,
        tenant,
        latency_ms,
        ttft_ms,
        uncached=uncached,
        output=output,
        write=write,
        write_1h=w1h,
        read=read,
        prompt_tokens=uncached,
    )


def row_cache_reads_full_price(
    response: Any,
    *,
    provider: str,
    feature: str,
    tenant: str,
    latency_ms: float,
    ttft_ms: float | None = None,
) -> dict[str, Any]:
    uncached, output, write, w1h, read = _counts(response, provider)
    row = _row(
        response,
        provider,
        feature,
        tenant,
        latency_ms,
        ttft_ms,
        uncached=uncached + read,
        output=output,
        write=write,
        write_1h=w1h,
        read=0,
        prompt_tokens=uncached + write + read,
    )
    row["cache_read_tokens"] = read
    return row


def row_drops_ttft(response: Any, **kwargs: Any) -> dict[str, Any]:
    row = ref.ledger_row(response, **kwargs)
    row["ttft_ms"] = None
    return row


@pytest.mark.parametrize(
    "wrong",
    [
        row_openai_double_counts,
        row_anthropic_subtracts_cache,
        row_ignores_cache_writes,
        row_all_writes_5m,
        row_prompt_tokens_uncached_only,
        row_cache_reads_full_price,
        row_drops_ttft,
    ],
)
def test_ledger_row_rejects(wrong: Callable[..., Any]) -> None:
    result = run("09.ledger_row", wrong)
    assert result.attempted and not result.passed, wrong.__name__


# -- wrong redact variants -----------------------------------------------------------------------
EMAIL = ref_redact.EMAIL_RE
CARD = ref_redact.CARD_RE


def redact_unkeyed(text: str, key: bytes) -> str:
    h = lambda v: hashlib.sha256(v.encode()).hexdigest()[:12]  # noqa: E731
    text = EMAIL.sub(lambda m: f"<email:{h(m.group())}>", text)
    return CARD.sub(lambda m: f"<card:{h(re.sub(r'[^0-9]', '', m.group()))}>", text)


def redact_keeps_last4(text: str, key: bytes) -> str:
    text = EMAIL.sub(lambda m: f"<email:{ref_redact.fingerprint(m.group(), key)}>", text)
    return CARD.sub(lambda m: "****-****-****-" + re.sub(r"\D", "", m.group())[-4:], text)


def redact_all_digits(text: str, key: bytes) -> str:
    text = EMAIL.sub(lambda m: f"<email:{ref_redact.fingerprint(m.group(), key)}>", text)
    return re.sub(r"\d+", lambda m: f"<num:{ref_redact.fingerprint(m.group(), key)}>", text)


def redact_fixed_token(text: str, key: bytes) -> str:
    return CARD.sub("[CARD]", EMAIL.sub("[EMAIL]", text))


def redact_local_part_only(text: str, key: bytes) -> str:
    text = EMAIL.sub(lambda m: "***@" + m.group().split("@")[1], text)
    return CARD.sub(lambda m: f"<card:{ref_redact.fingerprint(m.group(), key)}>", text)


def redact_salted(text: str, key: bytes) -> str:
    import os

    def fp(v: str) -> str:
        return hmac.new(key + os.urandom(4), v.encode(), hashlib.sha256).hexdigest()[:12]

    text = EMAIL.sub(lambda m: f"<email:{fp(m.group())}>", text)
    return CARD.sub(lambda m: f"<card:{fp(re.sub(r'[^0-9]', '', m.group()))}>", text)


def redact_no_normalise(text: str, key: bytes) -> str:
    text = EMAIL.sub(lambda m: f"<email:{ref_redact.fingerprint(m.group(), key)}>", text)
    return CARD.sub(lambda m: f"<card:{ref_redact.fingerprint(m.group(), key)}>", text)


def redact_spaced_cards_only(text: str, key: bytes) -> str:
    text = EMAIL.sub(lambda m: f"<email:{ref_redact.fingerprint(m.group(), key)}>", text)
    spaced = re.compile(r"\b\d{4}([ -])\d{4}\1\d{4}\1\d{4}\b")
    return spaced.sub(lambda m: f"<card:{ref_redact.fingerprint(m.group(), key)}>", text)


def redact_email_case_kept(text: str, key: bytes) -> str:
    """Right in every way but one: the e-mail is fingerprinted as typed, not lower-cased."""
    text = EMAIL.sub(lambda m: f"<email:{ref_redact.fingerprint(m.group(), key)}>", text)
    digits = lambda m: re.sub(r"[^0-9]", "", m.group())  # noqa: E731
    return CARD.sub(lambda m: f"<card:{ref_redact.fingerprint(digits(m), key)}>", text)


def redact_str_key(text: str, key: bytes) -> str:
    """hmac.new with a str value: a TypeError inside the learner's code."""
    return EMAIL.sub(lambda m: hmac.new(key, m.group(), hashlib.sha256).hexdigest(), text)  # type: ignore[arg-type]


def test_email_case_is_named() -> None:
    result = run("09.redact", redact_email_case_kept)
    assert len(result.failures) == 1 and "value.lower()" in first_hint(result), result.report()


def test_type_error_reports_case_and_line() -> None:
    report = run("09.redact", redact_str_key).report()
    assert "raised TypeError" in report and "redact(" in report, report
    assert "hmac.new(key, m.group(), hashlib.sha256)" in report, report


@pytest.mark.parametrize(
    "wrong",
    [
        redact_email_case_kept,
        redact_str_key,
        redact_unkeyed,
        redact_keeps_last4,
        redact_all_digits,
        redact_fixed_token,
        redact_local_part_only,
        redact_salted,
        redact_no_normalise,
        redact_spaced_cards_only,
    ],
)
def test_redact_rejects(wrong: Callable[[str, bytes], str]) -> None:
    result = run("09.redact", wrong)
    assert result.attempted and not result.passed, wrong.__name__


# -- wrong check_budget variants -----------------------------------------------------------------
def _spent(conn: sqlite3.Connection, tenant: str | None) -> float:
    if tenant is None:
        return float(conn.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM calls").fetchone()[0])
    sql = "SELECT COALESCE(SUM(cost_usd), 0) FROM calls WHERE tenant = ?"
    return float(conn.execute(sql, (tenant,)).fetchone()[0])


def budget_ignores_estimate(conn: sqlite3.Connection, tenant: str, est: float, lim: float) -> None:
    if _spent(conn, tenant) > lim:
        raise BudgetExceededError(tenant)


def budget_all_tenants(conn: sqlite3.Connection, tenant: str, est: float, lim: float) -> None:
    if _spent(conn, None) + est > lim:
        raise BudgetExceededError(tenant)


def budget_refuses_at_limit(conn: sqlite3.Connection, tenant: str, est: float, lim: float) -> None:
    if _spent(conn, tenant) + est >= lim:
        raise BudgetExceededError(tenant)


def budget_returns_bool(conn: sqlite3.Connection, tenant: str, est: float, lim: float) -> bool:
    return _spent(conn, tenant) + est <= lim


def budget_no_coalesce(conn: sqlite3.Connection, tenant: str, est: float, lim: float) -> None:
    (spent,) = conn.execute(
        "SELECT SUM(cost_usd) FROM calls WHERE tenant = ?", (tenant,)
    ).fetchone()
    if spent + est > lim:  # TypeError for a tenant with no rows
        raise BudgetExceededError(tenant)


def budget_reserves_by_inserting(
    conn: sqlite3.Connection, tenant: str, est: float, lim: float
) -> None:
    ref.check_budget(conn, tenant, est, lim)
    conn.execute(
        "INSERT INTO calls (trace_id, ts, provider, model, feature, tenant, prompt_fp, "
        "prompt_tokens, completion_tokens, cache_read_tokens, cache_write_tokens, cost_usd, "
        "latency_ms, status) VALUES ('hold', 0, 'x', 'x', 'x', ?, 'x', 0, 0, 0, 0, ?, 0, 'ok')",
        (tenant, est),
    )


@pytest.mark.parametrize(
    "wrong",
    [
        budget_ignores_estimate,
        budget_all_tenants,
        budget_refuses_at_limit,
        budget_returns_bool,
        budget_no_coalesce,
        budget_reserves_by_inserting,
    ],
)
def test_check_budget_rejects(wrong: Callable[..., Any]) -> None:
    result = run("09.check_budget", wrong)
    assert result.attempted and not result.passed, wrong.__name__


# -- 09.log_attempt ---------------------------------------------------------------------------
_NAMED = ("model", "prompt_tokens", "completion_tokens", "cost_usd", "status", "error")


def _level(row: Any) -> int:
    return logging.INFO if row["status"] == "ok" else logging.WARNING


def log_whole_row(logger: logging.Logger, row: Any, *, trace_id: str) -> None:
    fields = {**row, "trace_id": trace_id, "cached_tokens": row["cache_read_tokens"]}
    logger.log(_level(row), "llm_call", extra={"ledger": fields})


def log_cached_with_writes(logger: logging.Logger, row: Any, *, trace_id: str) -> None:
    fields = {k: row.get(k) for k in _NAMED} | {"trace_id": trace_id}
    fields["cached_tokens"] = row["cache_read_tokens"] + row["cache_write_tokens"]
    logger.log(_level(row), "llm_call", extra={"ledger": fields})


def log_stale_trace(logger: logging.Logger, row: Any, *, trace_id: str) -> None:
    fields = {"trace_id": trace_id, "cached_tokens": row["cache_read_tokens"]}
    fields |= {k: row[k] for k in (*_NAMED, "trace_id") if k in row}
    logger.log(_level(row), "llm_call", extra={"ledger": fields})


def log_flat_extra(logger: logging.Logger, row: Any, *, trace_id: str) -> None:
    fields = {k: row.get(k) for k in _NAMED} | {"trace_id": trace_id}
    logger.log(_level(row), "llm_call", extra=fields | {"cached_tokens": row["cache_read_tokens"]})


def log_text_line(logger: logging.Logger, row: Any, *, trace_id: str) -> None:
    logger.info(f"llm_call trace_id={trace_id} model={row['model']} cost={row['cost_usd']}")


def log_writes_into_row(logger: logging.Logger, row: Any, *, trace_id: str) -> None:
    row["trace_id"] = trace_id
    logger.log(_level(row), "llm_call", extra={"ledger": row})


def log_ok_at_debug(logger: logging.Logger, row: Any, *, trace_id: str) -> None:
    fields = {k: row.get(k) for k in _NAMED} | {"trace_id": trace_id}
    fields["cached_tokens"] = row["cache_read_tokens"]
    logger.log(
        logging.DEBUG if row["status"] == "ok" else logging.WARNING,
        "llm_call",
        extra={"ledger": fields},
    )


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (log_whole_row, "never the whole row"),
        (log_cached_with_writes, "cached_tokens are the cache READS"),
        (log_stale_trace, "the trace_id argument names THIS attempt"),
        (log_flat_extra, "extra={'ledger'"),
        (log_text_line, "structured means fields"),
        (log_writes_into_row, "the row is read-only"),
        (log_ok_at_debug, "it drops DEBUG"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_log_attempt_names_the_mistake(wrong: Callable[..., None], words: str) -> None:
    result = run("09.log_attempt", wrong)
    assert not result.passed and words in first_hint(result), result.report()


def test_log_attempt_reference_passes_and_stub_not_attempted() -> None:
    assert run("09.log_attempt", ref.log_attempt).passed
    assert not run("09.log_attempt", stub_log_attempt).attempted


def stub_log_attempt(logger: logging.Logger, row: Any, *, trace_id: str) -> None:
    raise NotImplementedError
