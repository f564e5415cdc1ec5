"""The capstone's pre-merge checklist ticks a sound client, says whose code each item ran, and
catches broken clients with the fault named."""

from __future__ import annotations

import inspect
import json
import logging
import textwrap
from typing import Any

import anthropic
import openai
import pytest

import llmlab
from llmlab.check import checklist
from llmlab.reference import client as ref
from llmlab.reference.breaker import CircuitBreaker
from llmlab.reference.client import METHOD_IDS, PIECE_IDS, ClientBase, LLMClient, reference_pieces

EVAL = [
    json.loads(line)
    for line in (llmlab.data_dir() / "incident_reports.jsonl").read_text().splitlines()
][20:40]
M = 14  # items


def settings(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        anthropic=anthropic.AsyncAnthropic(api_key="k"),
        openai=openai.AsyncOpenAI(api_key="k"),
        timeout=2.0,
        backoff_base=0.01,
        backoff_cap=0.1,
    )
    return {**base, **overrides}


def sound(**overrides: Any) -> LLMClient:
    return LLMClient(**settings(**overrides))


def own_copy(obj: Any) -> Any:
    """A learner's equal-but-own version of a piece (what mine() loads from my_client/)."""
    if isinstance(obj, type):
        return type(obj.__name__, (obj,), {})
    return lambda *args, **kwargs: obj(*args, **kwargs)


def own_method(name: str) -> Any:
    scope = dict(vars(ref))
    exec(textwrap.dedent(inspect.getsource(getattr(LLMClient, name))), scope)
    return scope[name]


def learners_class(**pieces: Any) -> type[ClientBase]:
    """A client as a learner who solved labs 02-10 assembles it: every piece and method theirs."""
    own = {p: own_copy(fn) for p, fn in reference_pieces().items()}
    methods = {m: own_method(m) for m in METHOD_IDS.values()}
    return type("LLMClient", (ClientBase,), {"pieces": {**own, **pieces}, **methods})


def learners(**pieces: Any) -> Any:
    cls = learners_class(**pieces)
    return lambda **overrides: cls(**settings(**overrides))


def run(make: Any, eval_set: Any = EVAL) -> tuple[dict[str, tuple[bool, str]], str]:
    result = checklist(make, eval_set)
    return {name: (ok, detail) for name, ok, detail in result.items}, result.report()


def test_a_sound_reference_client_ticks_every_item_but_none_is_yours(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = checklist(sound, EVAL)
    assert result.passed, result.report()
    assert len(result.items) == M
    out = capsys.readouterr().out
    assert f"{M}/{M} ticked" in out
    assert out.rstrip().splitlines()[-1] == f"your code: 0/{M} items"
    assert "(reference: 07.next_wait, 10.call, 10.is_infra_error)" in out


def test_a_learners_own_client_is_all_theirs() -> None:
    result = checklist(learners(), EVAL)
    assert result.passed, result.report()
    assert result.report().splitlines()[-1] == f"your code: {M}/{M} items"


def test_one_reference_piece_is_named_on_the_items_it_runs_in() -> None:
    result = checklist(learners(**{"07.next_wait": reference_pieces()["07.next_wait"]}), EVAL)
    report = result.report()
    assert "retry with jitter (reference: 07.next_wait)" in report
    assert report.splitlines()[-1] == f"your code: {M - 1}/{M} items"


def test_provenance_covers_every_piece_and_method() -> None:
    client = learners()()
    assert client.provenance() == dict.fromkeys([*PIECE_IDS, *METHOD_IDS], True)
    assert not any(sound().provenance().values())


# -- wrong clients: each caught, with the fault named ------------------------------------------
def test_an_always_infra_classifier_is_caught() -> None:
    got, _ = run(learners(**{"10.is_infra_error": lambda exc: True}))
    ok, detail = got["no retry or failover on a request's own faults"]
    assert not ok and "a request's own fault" in detail and "is_infra must answer False" in detail


def test_a_key_logged_inside_make_client_is_caught() -> None:
    log = logging.getLogger("tests.learner.capstone")
    log.propagate = False
    log.addHandler(logging.NullHandler())
    log.setLevel(logging.INFO)
    cls = learners_class()

    def make_client(**overrides: Any) -> Any:
        client = cls(**settings(**overrides))
        log.info(
            "client ready, key %s", overrides.get("anthropic", client.sdk["anthropic"]).api_key
        )
        return client

    got, _ = run(make_client)
    ok, detail = got["no API key in your logs"]
    assert not ok and "an API key appears in your logs" in detail
    assert got["redaction at the boundary"][0]  # the checker's own ledger log is clean


def test_a_next_wait_without_jitter_is_caught() -> None:
    def next_wait(exc: Any, attempt: int, *, base: float, cap: float, **_: Any) -> float:
        return min(cap, base * 2**attempt)

    got, _ = run(learners(**{"07.next_wait": next_wait}))
    ok, detail = got["retry with jitter"]
    assert not ok and "not jittered" in detail


def test_a_breaker_that_never_opens_is_caught() -> None:
    class NeverOpens(CircuitBreaker):
        def record_failure(self) -> None:
            pass

    got, _ = run(learners(**{"08.CircuitBreaker": NeverOpens}))
    ok, detail = got["breaker per provider, with failover"]
    assert not ok and "requests that reached the failing provider" in detail


def test_a_factory_that_drops_the_overrides_is_caught() -> None:
    def stubborn(**_overrides: Any) -> LLMClient:  # builds its own ledger-less client
        return sound()

    result = checklist(stubborn, EVAL)
    assert not any(ok for _, ok, _ in result.items)
    assert all("ignored the checker's overrides" in detail for _, _, detail in result.items)


def test_a_five_case_eval_set_is_not_ticked() -> None:
    got, _ = run(learners(), eval_set=EVAL[:5])
    ok, detail = got["an eval set"]
    assert not ok and "at least 20 labelled cases; got 5" in detail
