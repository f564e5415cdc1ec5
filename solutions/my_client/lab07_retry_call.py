"""Your 07.retry_call, kept by llmlab.check when it passed: edit the notebook, not this file."""

import anthropic
import openai
import random
import time


def backoff_delay(attempt: int, base: float = 1.0, cap: float = 60.0, rand=random.random) -> float:
    """Full-jitter exponential backoff in seconds."""
    return rand() * min(cap, base * 2**attempt)


def classify_error(status: int, error_type: str = "") -> str:
    """Return "retry" for transient failures, "fail" for everything else."""
    if error_type in ("insufficient_quota", "billing_error"):
        return "fail"
    if status in (408, 409, 429) or status >= 500:
        return "retry"
    return "fail"


def error_type_of(e):
    """The provider's error code/type: OpenAI puts it on the exception, Anthropic in the body."""
    if isinstance(e, openai.APIStatusError):
        return e.code or e.type or ""
    return (e.body or {}).get("error", {}).get("type", "")


def is_retryable(e) -> bool:
    if isinstance(e, (anthropic.APIConnectionError, openai.APIConnectionError)):
        return True  # includes APITimeoutError
    if isinstance(e, (anthropic.APIStatusError, openai.APIStatusError)):
        return classify_error_(e.status_code, error_type_of(e)) == "retry"
    return False


def retry_call(fn, *, max_attempts=4, sleep=time.sleep, rand=random.random, base=0.5, cap=8.0):
    """Call fn(), retrying retryable SDK errors; the server's retry-after wins over backoff."""
    for attempt in range(max_attempts):
        try:
            return fn()
        except Exception as e:
            if not is_retryable(e) or attempt == max_attempts - 1:
                raise
            response = getattr(e, "response", None)
            headers = response.headers if response is not None else {}
            if "retry-after-ms" in headers:
                wait = float(headers["retry-after-ms"]) / 1000
            elif "retry-after" in headers:
                wait = float(headers["retry-after"])
            else:
                wait = backoff_delay_(attempt, base, cap, rand)
            sleep(wait)


backoff_delay_ = backoff_delay
classify_error_ = classify_error


__llmlab_exercise__ = '07.retry_call'
__llmlab_name__ = 'retry_call'
