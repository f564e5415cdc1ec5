"""Lab 07 checkers: the reference passes, plausible wrong answers fail, stubs not attempted."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from llmlab.check import run
from llmlab.reference import retry as ref

from ._helpers import first_hint

T = TypeVar("T")


def stub(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


# -- 07.classify_error ------------------------------------------------------------------------
def classify_retries_401(status: int, error_type: str = "") -> str:
    return "fail" if status in (400, 404, 413, 422) else "retry"


def classify_ignores_quota(status: int, error_type: str = "") -> str:
    return "retry" if status in (408, 409, 429) or status >= 500 else "fail"


def classify_no_529(status: int, error_type: str = "") -> str:
    if error_type == "insufficient_quota":
        return "fail"
    return "retry" if status == 429 or 500 <= status < 529 else "fail"


def classify_no_408_409(status: int, error_type: str = "") -> str:
    if error_type == "insufficient_quota":
        return "fail"
    return "retry" if status == 429 or status >= 500 else "fail"


@pytest.mark.parametrize(
    "wrong", [classify_retries_401, classify_ignores_quota, classify_no_529, classify_no_408_409]
)
def test_classify_rejects(wrong: Callable[..., str]) -> None:
    assert not run("07.classify_error", wrong).passed


# -- 07.backoff_delay -------------------------------------------------------------------------
def backoff_no_jitter(
    attempt: int, base: float = 1.0, cap: float = 60.0, rand: Callable[[], float] = random.random
) -> float:
    return min(cap, base * 2**attempt)


def backoff_off_by_one(
    attempt: int, base: float = 1.0, cap: float = 60.0, rand: Callable[[], float] = random.random
) -> float:
    return rand() * min(cap, base * 2 ** (attempt + 1))


def backoff_no_cap(
    attempt: int, base: float = 1.0, cap: float = 60.0, rand: Callable[[], float] = random.random
) -> float:
    return rand() * base * 2**attempt


def backoff_equal_jitter(
    attempt: int, base: float = 1.0, cap: float = 60.0, rand: Callable[[], float] = random.random
) -> float:
    d = min(cap, base * 2**attempt)
    return d / 2 + rand() * d / 2


@pytest.mark.parametrize(
    "wrong", [backoff_no_jitter, backoff_off_by_one, backoff_no_cap, backoff_equal_jitter]
)
def test_backoff_rejects(wrong: Callable[..., float]) -> None:
    assert not run("07.backoff_delay", wrong).passed


def backoff_jitter_before_cap(
    attempt: int, base: float = 1.0, cap: float = 60.0, rand: Callable[[], float] = random.random
) -> float:
    return min(cap, rand() * base * 2**attempt)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (backoff_no_jitter, "did not use rand"),
        (backoff_off_by_one, "attempt counts from 0"),
        (backoff_no_cap, "cap the ceiling"),
        (backoff_jitter_before_cap, "capping after the jitter"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_backoff_hint_names_the_mistake(wrong: Callable[..., float], words: str) -> None:
    result = run("07.backoff_delay", wrong)
    assert not result.passed and words in first_hint(result), result.report()


# -- 07.retry_call ----------------------------------------------------------------------------
def _make_retry(
    *,
    honour_retry_after: bool = True,
    classify: bool = True,
    sleep_after_last: bool = False,
    extra_attempt: bool = False,
    seconds_only: bool = False,
) -> Callable[..., Any]:
    def retry_call(
        fn: Callable[[], T],
        *,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        base: float = 0.5,
        cap: float = 8.0,
    ) -> T:
        attempts = max_attempts + 1 if extra_attempt else max_attempts
        for attempt in range(attempts):
            try:
                return fn()
            except Exception as exc:
                retryable = ref.is_retryable(exc) if classify else hasattr(exc, "request")
                last = attempt == attempts - 1
                if not retryable or (last and not sleep_after_last):
                    raise
                wait = ref.retry_after_seconds(exc) if honour_retry_after else None
                if seconds_only:  # reads retry-after, ignores retry-after-ms
                    response = getattr(exc, "response", None)
                    header = response.headers.get("retry-after") if response else None
                    wait = float(header) if header else None
                sleep(wait if wait is not None else ref.backoff_delay(attempt, base, cap, rand))
                if last:
                    raise
        raise AssertionError("unreachable")

    return retry_call


@pytest.mark.parametrize(
    "wrong",
    [
        _make_retry(honour_retry_after=False),
        _make_retry(classify=False),  # retries 400 and insufficient_quota
        _make_retry(sleep_after_last=True),
        _make_retry(extra_attempt=True),
        _make_retry(seconds_only=True),
    ],
    ids=[
        "ignores-retry-after",
        "retries-400",
        "sleeps-after-last",
        "exceeds-max-attempts",
        "ignores-retry-after-ms",
    ],
)
def test_retry_rejects(wrong: Callable[..., Any]) -> None:
    assert not run("07.retry_call", wrong).passed


def test_retry_after_ms_ignored_is_named() -> None:
    result = run("07.retry_call", _make_retry(seconds_only=True))
    assert "read retry-after-ms FIRST" in first_hint(result), result.report()


def test_retry_variant_factory_is_faithful() -> None:
    assert run("07.retry_call", _make_retry()).passed


@pytest.mark.parametrize("exercise_id", ["07.classify_error", "07.backoff_delay", "07.retry_call"])
def test_reference_passes_and_stub_not_attempted(exercise_id: str) -> None:
    from llmlab.check import get

    assert run(exercise_id, get(exercise_id).reference).passed
    result = run(exercise_id, stub)
    assert not result.attempted and not result.passed


# -- 07.next_wait -----------------------------------------------------------------------------
def _make_next_wait(
    *, ms: bool = True, cap_long: bool = False, strict_max: bool = False, server: bool = True
) -> Callable[..., float | None]:
    def next_wait(
        exc: BaseException,
        attempt: int,
        *,
        base: float,
        cap: float,
        max_retry_after: float,
        rand: Callable[[], float],
    ) -> float | None:
        response = getattr(exc, "response", None)
        headers = response.headers if response is not None else {}
        wait = None
        if server and ms and "retry-after-ms" in headers:
            wait = float(headers["retry-after-ms"]) / 1000
        elif server and "retry-after" in headers:
            try:
                wait = float(headers["retry-after"])
            except ValueError:
                wait = None
        if wait is None:
            return rand() * min(cap, base * 2**attempt)
        if cap_long:
            return min(wait, max_retry_after)
        too_long = wait >= max_retry_after if strict_max else wait > max_retry_after
        return None if too_long else wait

    return next_wait


def next_wait_crashes_on_timeout(
    exc: BaseException,
    attempt: int,
    *,
    base: float,
    cap: float,
    max_retry_after: float,
    rand: Callable[[], float],
) -> float | None:
    if "retry-after" in exc.response.headers:  # type: ignore[attr-defined]  # a timeout: crash
        pass
    return ref.next_wait(
        exc, attempt, base=base, cap=cap, max_retry_after=max_retry_after, rand=rand
    )


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (_make_next_wait(cap_long=True), "not the capped wait"),
        (_make_next_wait(strict_max=True), "max_retry_after itself is still acceptable"),
        (_make_next_wait(ms=False), "read retry-after-ms FIRST"),
        (_make_next_wait(server=False), "that wins over backoff"),
        (next_wait_crashes_on_timeout, "has no response"),
    ],
    ids=["caps-long-wait", "gives-up-at-max", "ignores-ms", "ignores-server", "crashes-on-timeout"],
)
def test_next_wait_names_the_mistake(wrong: Callable[..., float | None], words: str) -> None:
    result = run("07.next_wait", wrong)
    assert not result.passed and words in first_hint(result), result.report()


def test_next_wait_variant_factory_is_faithful() -> None:
    assert run("07.next_wait", _make_next_wait()).passed
    assert run("07.next_wait", ref.next_wait).passed
    assert not run("07.next_wait", stub).attempted
