"""The Anthropic API version gate: what ``anthropic-version`` changes, in-process and over HTTP.

Raw requests name their version explicitly, so these tests hold whichever SDK generation is
installed; the SDK tests check that the installed SDK sends the version its major implies.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from llmlab.sim import Simulator
from llmlab.sim.testing import SimServer

MODEL = "claude-sonnet-4-6"
USER = [{"role": "user", "content": "Summarise the checkout incident runbook."}]
LONG_SYSTEM = "You triage incidents for Northwind Cloud; cite the runbook step. " * 200
SDK_MAJOR = int(importlib.metadata.version("anthropic").split(".")[0])


@pytest.fixture(params=["in-process", "http"])
def post(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``post(body, version=..., **headers)`` against the simulator, in-process or over HTTP."""
    if request.param == "http":
        server: SimServer = request.getfixturevalue("sim_server")
        url = f"{server.anthropic_base_url}/v1/messages"
    else:
        request.getfixturevalue("sim")
        url = "https://api.anthropic.com/v1/messages"

    def send(body: dict[str, Any], version: str | None = "2026-10-21", **headers: str) -> Any:
        hdrs = {"x-api-key": "test", **headers}
        if version is not None:
            hdrs["anthropic-version"] = version
        return httpx.post(url, json=body, headers=hdrs, timeout=30)

    yield send


def _body(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 20, "messages": USER, **extra}


def _error(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"]["type"], body["error"]["message"]


def test_a_missing_version_header_is_a_400_naming_it(post: Any) -> None:
    status, kind, message = _error(post(_body(), version=None))
    assert (status, kind) == (400, "invalid_request_error")
    assert "anthropic-version" in message


def test_an_unknown_version_is_refused(post: Any) -> None:
    status, _, message = _error(post(_body(), version="2024-13-45"))
    assert status == 400 and "2024-13-45" in message


@pytest.mark.parametrize(
    ("name", "value"), [("temperature", 1.0), ("temperature", 0), ("top_p", 0.9), ("top_k", 5)]
)
def test_sampling_parameters_are_a_400_under_2026_10_21_even_at_defaults(
    post: Any, name: str, value: float
) -> None:
    status, kind, message = _error(post(_body(**{name: value})))
    assert (status, kind) == (400, "invalid_request_error")
    assert message.startswith(f"{name}:") and "2026-10-21" in message


def test_sampling_parameters_still_work_under_2023_06_01(post: Any) -> None:
    r = post(_body(temperature=0, top_p=0.9, top_k=5), version="2023-06-01")
    assert r.status_code == 200, r.text
    assert "diagnostics" not in r.json()  # the old version's responses have no such field


def test_bearer_and_x_api_key_both_authenticate(post: Any) -> None:
    for headers in ({"authorization": "Bearer sk-test"}, {}):
        r = post(_body(), **headers)
        assert r.status_code == 200, r.text


def test_system_role_in_messages_is_accepted_only_under_2026_10_21(post: Any) -> None:
    messages = [{"role": "system", "content": "Answer in one line."}, *USER]
    assert post(_body(messages=messages)).status_code == 200
    status, _, message = _error(post(_body(messages=messages), version="2023-06-01"))
    assert status == 400 and "messages.0.role" in message


def test_top_level_cache_control_caches_the_last_block_and_a_later_turn_reads_it(
    post: Any,
) -> None:
    auto = {"type": "ephemeral"}
    first = post(_body(system=LONG_SYSTEM, cache_control=auto)).json()["usage"]
    assert first["cache_creation_input_tokens"] > 1024 and first["cache_read_input_tokens"] == 0
    turns = [*USER, {"role": "assistant", "content": "Done."}, {"role": "user", "content": "More."}]
    second = post(_body(system=LONG_SYSTEM, messages=turns, cache_control=auto)).json()["usage"]
    # the breakpoint moved to the new last block; the lookup walks back and finds turn one's
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]


def test_diagnostics_name_a_changed_system_prompt_and_the_tokens_it_missed(post: Any) -> None:
    auto = {"type": "ephemeral"}
    wrong = post(_body(system=LONG_SYSTEM, cache_control=auto, diagnostics={"previous": "x"}))
    assert wrong.status_code == 400  # previous_message_id is the object's one field
    first = post(
        _body(system=LONG_SYSTEM, cache_control=auto, diagnostics={"previous_message_id": None})
    ).json()
    assert first["diagnostics"] is None
    written = first["usage"]["cache_creation_input_tokens"]
    same = post(
        _body(
            system=LONG_SYSTEM,
            cache_control=auto,
            diagnostics={"previous_message_id": first["id"]},
        )
    ).json()
    assert same["diagnostics"] is None and same["usage"]["cache_read_input_tokens"] == written
    changed = post(
        _body(
            system=LONG_SYSTEM + " Be brief.",
            cache_control=auto,
            diagnostics={"previous_message_id": same["id"]},
        )
    ).json()
    reason = changed["diagnostics"]["cache_miss_reason"]
    assert reason["type"] == "system_changed"
    assert reason["cache_missed_input_tokens"] >= written
    assert changed["usage"]["cache_read_input_tokens"] == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"model": "claude-haiku-4-5"}, "model_changed"),
        ({"tools": [{"name": "t", "input_schema": {"type": "object"}}]}, "tools_changed"),
        ({"messages": [{"role": "user", "content": "Something else."}]}, "messages_changed"),
        ({"tool_choice": {"type": "none"}}, "unavailable"),
    ],
)
def test_each_cache_miss_reason(post: Any, change: dict[str, Any], reason: str) -> None:
    first = post(_body(system=LONG_SYSTEM, cache_control={"type": "ephemeral"})).json()
    again = post(
        _body(
            system=LONG_SYSTEM,
            cache_control={"type": "ephemeral"},
            diagnostics={"previous_message_id": first["id"]},
            **change,
        )
    ).json()
    assert again["diagnostics"]["cache_miss_reason"]["type"] == reason


def test_an_unknown_previous_message_is_reported_not_refused(post: Any) -> None:
    r = post(_body(diagnostics={"previous_message_id": "msg_01doesnotexist"})).json()
    assert r["diagnostics"] == {"cache_miss_reason": {"type": "previous_message_not_found"}}


def test_the_installed_sdk_sends_the_version_of_its_major(sim: Simulator) -> None:
    seen: list[str] = []

    from llmlab.sim import sdk_http

    def record(request: Any) -> None:
        seen.append(request.headers["anthropic-version"])

    client = anthropic.Anthropic(
        api_key="test", http_client=sdk_http("anthropic").Client(event_hooks={"request": [record]})
    )
    client.messages.create(model=MODEL, max_tokens=5, messages=USER)  # type: ignore[arg-type]
    assert seen == ["2026-10-21" if SDK_MAJOR >= 2 else "2023-06-01"]


@pytest.mark.skipif(SDK_MAJOR < 2, reason="anthropic < 2 sends 2023-06-01 and has temperature")
def test_the_current_sdk_cannot_send_temperature_and_extra_body_gets_the_400(
    sim: Simulator,
) -> None:
    client = anthropic.Anthropic(api_key="test", max_retries=0)
    with pytest.raises(TypeError, match="temperature"):
        client.messages.create(  # type: ignore[call-overload]
            model=MODEL, max_tokens=5, messages=USER, temperature=0
        )
    with pytest.raises(anthropic.BadRequestError, match="temperature: Extra inputs"):
        client.messages.create(
            model=MODEL,
            max_tokens=5,
            messages=USER,  # type: ignore[arg-type]
            extra_body={"temperature": 0},
        )
    diagnosed = client.messages.create(
        model=MODEL,
        max_tokens=5,
        messages=USER,  # type: ignore[arg-type]
        diagnostics={"previous_message_id": "msg_01gone"},
    )
    assert diagnosed.diagnostics is not None
    assert diagnosed.diagnostics.cache_miss_reason is not None
    assert diagnosed.diagnostics.cache_miss_reason.type == "previous_message_not_found"
