"""Lab 07 checkers: error taxonomy, full-jitter backoff, a retry wrapper driven through the SDKs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import openai

from llmlab.check._diagnose import Mistake, verdict
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, call, raised, running, track_mock
from llmlab.reference import retry as ref
from llmlab.reference.breaker import requests_reaching
from llmlab.sim import FaultPlan, Simulator, mock

_CLASSIFY_CASES: list[tuple[int, str, str]] = [
    (400, "invalid_request_error", "fail"),
    (401, "authentication_error", "fail"),
    (403, "permission_error", "fail"),
    (404, "not_found_error", "fail"),
    (413, "request_too_large", "fail"),
    (422, "", "fail"),
    (408, "", "retry"),
    (409, "", "retry"),
    (429, "rate_limit_error", "retry"),
    (429, "rate_limit_exceeded", "retry"),
    (429, "insufficient_quota", "fail"),
    (500, "api_error", "retry"),
    (502, "", "retry"),
    (503, "server_error", "retry"),
    (504, "timeout_error", "retry"),
    (529, "overloaded_error", "retry"),
]


@exercise(
    "07.classify_error",
    'classify_error(status: int, error_type: str = "") -> str',
    'return "retry" for transient failures (408/409/429 rate limit/5xx/529), else "fail"',
    ref.classify_error,
)
def _check_classify(candidate: Any) -> Iterator[Case]:
    for status, kind, want in _CLASSIFY_CASES:
        got = call(f"classify_error({status}, {kind!r})", candidate, status, kind)
        hint = (
            "a 429 whose code is insufficient_quota will not succeed by waiting"
            if kind == "insufficient_quota"
            else "retry 408, 409, 429 and every status >= 500; other 4xx are your request's fault"
        )
        yield Case(
            ok=got == want,
            input=f"classify_error({status}, {kind!r})",
            expected=repr(want),
            got=str(got) if isinstance(got, Raised) else repr(got),
            hint=hint,
        )


def _fixed(value: float) -> Callable[[], float]:
    return lambda: value


def _same_number(got: Any, want: Any) -> bool:
    return (
        isinstance(got, int | float)
        and not isinstance(got, bool)
        and isinstance(want, int | float)
        and abs(float(got) - want) < 1e-9
    )


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else repr(value)


_BACKOFF_CASES: list[tuple[int, float, float, float]] = [
    (0, 1.0, 60.0, 1.0),
    (0, 1.0, 60.0, 0.5),
    (1, 1.0, 60.0, 0.5),
    (3, 1.0, 60.0, 0.25),
    (5, 1.0, 60.0, 1.0),
    (6, 1.0, 60.0, 0.5),
    (10, 1.0, 60.0, 0.75),
    (2, 0.5, 8.0, 1.0),
    (4, 0.5, 8.0, 1.0),
    (7, 0.5, 8.0, 0.5),
    (3, 0.5, 8.0, 0.0),
]


def _backoff_mistakes(a: int, base: float, cap: float, r: float) -> list[Mistake]:
    return [
        (
            "cap the ceiling: min(cap, base * 2**attempt); your delay grew past cap",
            lambda: r * base * 2**a,
        ),
        (
            "jitter the capped ceiling: rand() * min(cap, ...); capping after the jitter lets "
            "every large attempt wait the full cap",
            lambda: min(cap, r * base * 2**a),
        ),
        (
            "attempt counts from 0: attempt 0 waits up to base (2**0 = 1), not 2 * base",
            lambda: r * min(cap, base * 2 ** (a + 1)),
        ),
        (
            "full jitter multiplies the ceiling by rand(); you did not use rand",
            lambda: min(cap, base * 2**a),
        ),
        (
            "full jitter MULTIPLIES the ceiling by rand(), it does not add to it",
            lambda: min(cap, base * 2**a) + r,
        ),
        (
            "the ceiling doubles per attempt (2**attempt), not grows linearly",
            lambda: r * min(cap, base * (a + 1)),
        ),
        ("the ceiling is base * 2**attempt: multiply by base", lambda: r * min(cap, 2**a)),
        (
            "the ceiling doubles: base * 2**attempt, not base ** attempt",
            lambda: r * min(cap, base**a),
        ),
    ]


@exercise(
    "07.backoff_delay",
    "backoff_delay(attempt: int, base: float = 1.0, cap: float = 60.0, "
    "rand: Callable[[], float] = random.random) -> float",
    "full jitter: rand() * min(cap, base * 2**attempt), attempt counted from 0",
    ref.backoff_delay,
)
def _check_backoff(candidate: Any) -> Iterator[Case]:
    for attempt, base, cap, r in _BACKOFF_CASES:
        label = f"backoff_delay({attempt}, base={base}, cap={cap}, rand=lambda: {r})"
        yield verdict(
            label,
            call(label, candidate, attempt, base, cap, _fixed(r)),
            ref.backoff_delay(attempt, base, cap, _fixed(r)),
            same=_same_number,
            show=_number,
            rule="the delay is rand() * min(cap, base * 2**attempt)",
            mistakes=_backoff_mistakes(attempt, base, cap, r),
        )
    got_default = call("backoff_delay(0)", candidate, 0)
    yield Case(
        ok=isinstance(got_default, int | float) and 0 <= got_default <= 1.0,
        input="backoff_delay(0) with the default base=1.0 and random.random",
        expected="a number in [0, 1]",
        got=repr(got_default),
        hint="the defaults are base=1.0, cap=60.0, rand=random.random",
    )


# -- 07.retry_call: real SDK calls against the checker's own simulator ---------------------------
_SCALE = 0.001
_KEY = "sk-llmlab-checker"  # a dummy key: the checker talks to its own simulator


_MSG = [{"role": "user", "content": "Status of the payments service?"}]


def _anthropic_call(client: anthropic.Anthropic) -> Callable[[], Any]:
    return lambda: client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=5,
        messages=_MSG,  # type: ignore[arg-type]
    )


def _openai_call(client: openai.OpenAI) -> Callable[[], Any]:
    return lambda: client.chat.completions.create(
        model="gpt-4.1-mini",
        max_tokens=5,
        messages=_MSG,  # type: ignore[arg-type]
    )


def _run_retry(
    candidate: Any,
    provider: str,
    faults: list[str],
    max_attempts: int = 4,
    bad_request: bool = False,
    timeout: float | None = None,
) -> tuple[str, list[float], int]:
    """Run the candidate; return (outcome, recorded sleeps, requests reaching the provider)."""
    sleeps: list[float] = []
    sim = Simulator(seed=7, time_scale=_SCALE, faults=FaultPlan.scripted(faults))
    with track_mock(mock(sim=sim)):  # innermost mock wins: the checker's simulator
        if provider == "anthropic":
            a_client = anthropic.Anthropic(
                api_key=_KEY,
                max_retries=0,
                timeout=timeout or 30.0,
            )
            fn = _anthropic_call(a_client)
            if bad_request:
                fn = lambda: a_client.messages.create(  # noqa: E731
                    model="claude-sonnet-4-6", max_tokens=5, messages=[]
                )
        else:
            fn = _openai_call(
                openai.OpenAI(
                    api_key=_KEY,
                    max_retries=0,
                    timeout=timeout or 30.0,
                )
            )
        running(f"retry_call(fn, max_attempts={max_attempts}) with faults {faults}")
        try:
            result = candidate(fn, max_attempts=max_attempts, sleep=sleeps.append, rand=_fixed(0.5))
            outcome = "returned " + type(result).__name__
        except Exception as exc:  # the SDK's own error type is the outcome
            outcome = "raised " + type(exc).__name__
            if not isinstance(exc, anthropic.APIError | openai.APIError):
                outcome = str(raised(exc))  # a bug in the wrapper itself: show where
        return outcome, [round(s, 6) for s in sleeps], requests_reaching(sim)


def _fmt(outcome: str, sleeps: list[float], requests: int) -> str:
    return f"{outcome}, sleeps={sleeps}, requests={requests}"


@exercise(
    "07.retry_call",
    "retry_call(fn: Callable[[], T], *, max_attempts: int = 4, "
    "sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random, "
    "base: float = 0.5, cap: float = 8.0) -> T",
    "retry retryable SDK errors with full-jitter backoff, honouring retry-after; "
    "re-raise the rest at once; never sleep after the last attempt",
    ref.retry_call,
)
def _check_retry_call(candidate: Any) -> Iterator[Case]:
    server_wait = round(_SCALE * 1.0, 6)  # retry-after-ms of the simulator's 429, in seconds
    scenarios: list[tuple[str, dict[str, Any], set[str], str]] = [
        (
            'Anthropic, faults ["429", "500"], rand=lambda: 0.5',
            {"provider": "anthropic", "faults": ["429", "500"]},
            {_fmt("returned Message", [server_wait, 0.5], 3)},
            "after the 429 wait what retry-after-ms says (else retry-after); after the 500 use "
            "backoff_delay(1, 0.5, 8.0, rand) = 0.5",
        ),
        (
            'OpenAI, faults ["429", "500"], rand=lambda: 0.5',
            {"provider": "openai", "faults": ["429", "500"]},
            {_fmt("returned ChatCompletion", [server_wait, 0.5], 3)},
            "read the wait from e.response.headers ('retry-after-ms', then 'retry-after')",
        ),
        (
            'Anthropic, faults ["500"] * 5, max_attempts=4, rand=lambda: 0.5',
            {"provider": "anthropic", "faults": ["500"] * 5},
            {_fmt("raised InternalServerError", [0.25, 0.5, 1.0], 4)},
            "4 attempts means 3 sleeps (none after the last) and then re-raise the SDK error",
        ),
        (
            'Anthropic, faults ["500"], max_attempts=1',
            {"provider": "anthropic", "faults": ["500"], "max_attempts": 1},
            {_fmt("raised InternalServerError", [], 1)},
            "max_attempts=1 means a single call and no sleep",
        ),
        (
            'OpenAI, faults ["quota"] (429 insufficient_quota)',
            {"provider": "openai", "faults": ["quota"]},
            {_fmt("raised RateLimitError", [], 1)},
            "classify with the error code: insufficient_quota must not be retried",
        ),
        (
            "Anthropic, a request with messages=[] (400)",
            {"provider": "anthropic", "faults": [], "bad_request": True},
            {_fmt("raised BadRequestError", [], 1)},
            "a 400 is the request's fault: re-raise it at once, without sleeping",
        ),
        (
            'OpenAI, faults ["hang"] with the client timeout at 0.05 s',
            {"provider": "openai", "faults": ["hang"], "timeout": 0.05},
            {_fmt("returned ChatCompletion", [0.25], 2)},
            "APITimeoutError (a subclass of APIConnectionError) is retryable",
        ),
    ]
    for label, kwargs, accepted, hint in scenarios:
        outcome, sleeps, requests = _run_retry(candidate, **kwargs)
        got = _fmt(outcome, sleeps, requests)
        ignored_ms = "429" in kwargs["faults"] and bool(sleeps) and sleeps[0] == 1.0
        yield Case(
            ok=got in accepted,
            input=label,
            expected=" or ".join(sorted(accepted)),
            got=got,
            hint="read retry-after-ms FIRST (here 1 ms: the simulator's waits scale with its "
            "clock) and fall back to retry-after (whole seconds) only without it, as the SDKs do"
            if ignored_ms
            else hint,
            diagnosed=ignored_ms,
        )


# -- 07.next_wait: the client's one decision between attempts ------------------------------------
_HTTP_DATE = "Wed, 21 Oct 2026 07:28:00 GMT"


def _sim_errors() -> dict[str, BaseException]:
    """Real SDK errors from the checker's simulator: 429s with retry-after, a 503, a timeout."""
    sim = Simulator(seed=7, time_scale=_SCALE, faults=FaultPlan.scripted(["429", "429", "503"]))
    errors: dict[str, BaseException] = {}
    with track_mock(mock(sim=sim)):
        a_client = anthropic.Anthropic(api_key=_KEY, max_retries=0)
        o_client = openai.OpenAI(api_key=_KEY, max_retries=0, timeout=0.05)
        for name, fn in (
            ("anthropic 429", _anthropic_call(a_client)),
            ("openai 429", _openai_call(o_client)),
            ("anthropic 503", _anthropic_call(a_client)),
        ):
            try:
                fn()
            except (anthropic.APIError, openai.APIError) as exc:
                errors[name] = exc
        sim.set_faults(FaultPlan.scripted(["hang"]))
        try:
            _openai_call(o_client)()
        except openai.APITimeoutError as exc:
            errors["openai timeout"] = exc
    return errors


def _with_headers(exc: Any, headers: dict[str, str]) -> BaseException:
    """``exc`` (an SDK status error) as if its response had carried only ``headers``."""
    old = exc.response
    response = type(old)(exc.status_code, headers=headers, request=old.request)
    made: BaseException = type(exc)(exc.message, response=response, body=exc.body)
    return made


def _header_wait(exc: BaseException, *, ms: bool = True) -> float | None:
    response = getattr(exc, "response", None)
    headers = response.headers if response is not None else {}
    if ms and "retry-after-ms" in headers:
        return float(headers["retry-after-ms"]) / 1000
    try:
        return float(headers["retry-after"]) if "retry-after" in headers else None
    except ValueError:
        return None


def _wait_mistakes(
    exc: BaseException, attempt: int, base: float, cap: float, most: float, r: float
) -> list[Mistake]:
    backoff = r * min(cap, base * 2**attempt)
    server = _header_wait(exc)
    return [
        (
            "a wait longer than max_retry_after means 'do not wait here': return None (the "
            "client fails over now), not the capped wait",
            lambda: min(server, most) if server is not None and server > most else _no(),
        ),
        (
            "a wait longer than max_retry_after means 'do not wait here': return None",
            lambda: server if server is not None and server > most else _no(),
        ),
        (
            "max_retry_after itself is still acceptable: give up only when the wait is LONGER",
            lambda: None if server is not None and server >= most else _no(),
        ),
        (
            "read retry-after-ms FIRST (milliseconds: divide by 1000), then retry-after",
            lambda: _header_wait(exc, ms=False) if server is not None else _no(),
        ),
        (
            "when the server says how long to wait (retry-after-ms / retry-after), that wins "
            "over backoff",
            lambda: backoff if server is not None else _no(),
        ),
        (
            "attempt counts from 0: backoff_delay(attempt, ...), not attempt + 1",
            lambda: r * min(cap, base * 2 ** (attempt + 1)),
        ),
        ("cap the ceiling: rand() * min(cap, base * 2**attempt)", lambda: r * base * 2**attempt),
        ("full jitter multiplies the ceiling by rand()", lambda: min(cap, base * 2**attempt)),
    ]


def _no() -> Any:
    raise LookupError("this mistake does not apply to this case")


def _show_wait(value: Any) -> str:
    return "None" if value is None else _number(value)


def _same_wait(got: Any, want: Any) -> bool:
    return got is None if want is None else _same_number(got, want)


@exercise(
    "07.next_wait",
    "next_wait(exc: BaseException, attempt: int, *, base: float, cap: float, "
    "max_retry_after: float, rand: Callable[[], float]) -> float | None",
    "seconds before the next attempt: the server's retry-after-ms / retry-after when sent and "
    "<= max_retry_after; None when it asks for longer (fail over now); else "
    "rand() * min(cap, base * 2**attempt)",
    ref.next_wait,
    time_limit=20.0,  # a cold first run starts the SDKs and a simulator
)
def _check_next_wait(candidate: Any) -> Iterator[Case]:
    running("getting real SDK errors from the checker's simulator")
    errors = _sim_errors()
    a429 = errors["anthropic 429"]
    cases: list[tuple[str, BaseException, int, float]] = [
        ("Anthropic 429 from the simulator (retry-after-ms: 1, retry-after: 1)", a429, 0, 60.0),
        (
            "OpenAI 429 from the simulator (retry-after-ms: 1, retry-after: 1)",
            errors["openai 429"],
            2,
            60.0,
        ),
        ("a 429 with only retry-after: 7", _with_headers(a429, {"retry-after": "7"}), 1, 60.0),
        (
            "a 429 with retry-after-ms: 2500 and retry-after: 3",
            _with_headers(a429, {"retry-after-ms": "2500", "retry-after": "3"}),
            0,
            60.0,
        ),
        ("a 429 with retry-after: 120", _with_headers(a429, {"retry-after": "120"}), 0, 60.0),
        ("a 429 with retry-after: 60", _with_headers(a429, {"retry-after": "60"}), 0, 60.0),
        (
            f"a 429 with retry-after: {_HTTP_DATE}",
            _with_headers(a429, {"retry-after": _HTTP_DATE}),
            1,
            60.0,
        ),
        ("Anthropic 503 from the simulator (no retry-after)", errors["anthropic 503"], 0, 60.0),
        ("Anthropic 503 from the simulator (no retry-after)", errors["anthropic 503"], 3, 60.0),
        ("Anthropic 503 from the simulator (no retry-after)", errors["anthropic 503"], 6, 60.0),
        ("OpenAI APITimeoutError (no response at all)", errors["openai timeout"], 1, 60.0),
    ]
    for what, exc, attempt, most in cases:
        for r in (0.5, 1.0):
            base, cap = 0.5, 8.0
            label = (
                f"next_wait({what}, attempt={attempt}, base={base}, cap={cap}, "
                f"max_retry_after={most:g}, rand=lambda: {r})"
            )
            got = call(
                label,
                candidate,
                exc,
                attempt,
                base=base,
                cap=cap,
                max_retry_after=most,
                rand=_fixed(r),
            )
            want = ref.next_wait(
                exc, attempt, base=base, cap=cap, max_retry_after=most, rand=_fixed(r)
            )
            no_response = "timeout" in what.lower() and isinstance(got, Raised)
            date = _HTTP_DATE in what and isinstance(got, Raised)
            if no_response or date:
                yield Case(
                    False,
                    label,
                    _show_wait(want),
                    str(got),
                    "a timeout or connection error has no response (exc.response is missing): "
                    "fall back to backoff"
                    if no_response
                    else "retry-after may be an HTTP date, not a number: ignore what you cannot "
                    "read as seconds and fall back to backoff",
                    diagnosed=True,
                )
                continue
            yield verdict(
                label,
                got,
                want,
                same=_same_wait,
                show=_show_wait,
                rule="the server's wait if sent and <= max_retry_after, None if longer, else "
                "rand() * min(cap, base * 2**attempt)",
                mistakes=_wait_mistakes(exc, attempt, base, cap, most, r),
            )
