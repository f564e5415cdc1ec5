"""Contract tests: the real ``openai`` SDK's ``client.embeddings`` against the simulator.

Tests taking ``api`` run in-process (the ``sim`` fixture) and over HTTP (``sim_server``, as
``python -m llmlab.sim serve`` runs it); both SDK generations run this file.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmlab import data_dir, pricing
from llmlab.sim import FaultPlan, Simulator, mock
from llmlab.sim.model._embeddings import embed

from .test_bad_input import SETTINGS, _check, mutate
from .test_openai_responses import Api
from .test_openai_responses import api as api  # the in-process and HTTP fixture

SMALL, LARGE = "text-embedding-3-small", "text-embedding-3-large"


def _vectors(api: Api, texts: list[str], **kw: Any) -> np.ndarray:
    r = api.client.embeddings.create(model=SMALL, input=texts, **kw)
    return np.array([d.embedding for d in r.data])


def test_shape_usage_and_billing(api: Api) -> None:
    texts = ["How do I reset my password?", "Where is my refund?"]
    r = api.client.embeddings.create(model=SMALL, input=texts)
    assert r.object == "list" and r.model == SMALL and [d.index for d in r.data] == [0, 1]
    assert all(d.object == "embedding" and len(d.embedding) == 1536 for d in r.data)
    assert np.allclose(np.linalg.norm([d.embedding for d in r.data], axis=1), 1, atol=1e-5)
    assert r.usage.prompt_tokens == r.usage.total_tokens > 0
    record = api.sim.billing.records[-1]
    assert record.model == SMALL and record.output_tokens == 0
    assert record.input_tokens == r.usage.prompt_tokens
    expected = pricing.cost(SMALL, input_tokens=record.input_tokens, output_tokens=0)
    assert record.cost_usd == pytest.approx(float(expected.total_usd))
    assert pricing.prices(SMALL).input < pricing.prices(LARGE).input  # $0.02 vs $0.13 / MTok


def test_float_and_base64_agree_and_the_sdk_default_is_base64(api: Api) -> None:
    text = "Checkout is down for all customers."
    as_float = api.client.embeddings.create(model=SMALL, input=text, encoding_format="float")
    default = api.client.embeddings.create(model=SMALL, input=text)  # SDK asks for base64
    assert np.allclose(as_float.data[0].embedding, default.data[0].embedding)
    raw = api.client.post(
        "/embeddings",
        body={"model": SMALL, "input": text, "encoding_format": "base64"},
        cast_to=httpx.Response,
    )
    decoded = np.frombuffer(base64.b64decode(raw.json()["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, as_float.data[0].embedding)


def test_dimensions_shorten_and_renormalise(api: Api) -> None:
    full = _vectors(api, ["Search is slow for some customers."])[0]
    short = _vectors(api, ["Search is slow for some customers."], dimensions=256)[0]
    assert short.shape == (256,) and np.linalg.norm(short) == pytest.approx(1, abs=1e-5)
    assert np.allclose(short, full[:256] / np.linalg.norm(full[:256]), atol=1e-5)
    big = api.client.embeddings.create(model=LARGE, input="x")
    assert len(big.data[0].embedding) == 3072


def test_token_arrays_embed_like_their_text(api: Api) -> None:
    from llmlab import tokens as tk

    text = "The payments API returns 502 errors."
    ids = tk.token_ids(text, "cl100k_base")
    by_ids = api.client.embeddings.create(model=SMALL, input=[ids], encoding_format="float")
    by_text = api.client.embeddings.create(model=SMALL, input=text, encoding_format="float")
    assert np.allclose(by_ids.data[0].embedding, by_text.data[0].embedding)
    assert by_ids.usage.prompt_tokens == len(ids) == by_text.usage.prompt_tokens


def test_deterministic_across_seeds_and_calls() -> None:
    assert np.array_equal(
        embed("Disk full on the replica", SMALL, 1536),
        embed("Disk full on the replica", SMALL, 1536),
    )
    assert not np.allclose(
        embed("Disk full", SMALL, 1536)[:64], embed("Disk full", LARGE, 3072)[:64]
    )


def test_similarity_tracks_meaning_on_the_course_questions() -> None:
    rows = [json.loads(line) for line in (data_dir() / "support_questions.jsonl").open()]
    by_intent: dict[str, list[np.ndarray]] = {}
    for row in rows:
        by_intent.setdefault(row["intent"], []).append(embed(row["question"], SMALL, 1536))
    same = [
        float(a @ b) for vs in by_intent.values() for i, a in enumerate(vs) for b in vs[i + 1 :]
    ]
    firsts = [vs[0] for vs in by_intent.values()]
    other = [float(a @ b) for i, a in enumerate(firsts) for b in firsts[i + 1 :]]
    assert np.mean(same) > 2 * np.mean(other) + 0.2, (np.mean(same), np.mean(other))
    assert max(other) > 0.4  # some different questions look alike: false hits exist


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": SMALL, "input": ""}, 400, "input"),
        ({"model": SMALL, "input": []}, 400, "input"),
        ({"model": SMALL, "input": [1, "a"]}, 400, "input"),
        ({"model": SMALL, "input": ["ok", ""]}, 400, "input"),
        ({"model": SMALL, "input": [[100256]]}, 400, "input"),  # a gap in cl100k's ids
        ({"model": SMALL}, 400, "input"),
        ({"input": "x"}, 400, "model"),
        ({"model": "gpt-4.1-mini", "input": "x"}, 404, "model"),
        ({"model": SMALL, "input": "x", "dimensions": 0}, 400, "dimensions"),
        ({"model": SMALL, "input": "x", "dimensions": 1537}, 400, "dimensions"),
        ({"model": SMALL, "input": "x", "encoding_format": "int8"}, 400, "encoding_format"),
        ({"model": SMALL, "input": "x", "temperature": 0}, 400, None),
        ({"model": SMALL, "input": ["x"] * 2049}, 400, "input"),
        ({"model": SMALL, "input": "word " * 9000}, 400, "input"),
    ],
)
def test_bad_requests_are_refused_strictly(
    sim: Simulator, body: dict[str, Any], status: int, param: str | None
) -> None:
    client = openai.OpenAI(api_key="test", max_retries=0)
    with pytest.raises(openai.APIStatusError) as err:
        client.post("/embeddings", body=body, cast_to=httpx.Response)
    assert err.value.status_code == status
    error = err.value.body
    assert isinstance(error, dict) and error.get("param") == param and error.get("message")
    assert sim.billing.records == []


def test_injected_faults_apply_and_the_models_are_listed(sim: Simulator) -> None:
    client = openai.OpenAI(api_key="test", max_retries=0)
    sim.set_faults(FaultPlan.scripted(["500"]))
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model=SMALL, input="x")
    assert client.embeddings.create(model=SMALL, input="x").data
    chat = client.models.retrieve(SMALL)
    assert chat.id == SMALL and SMALL in [m.id for m in client.models.list()]


_FUZZ_BASE: dict[str, Any] = {
    "model": SMALL,
    "input": ["How do I reset my password?", [1820, 374]],
    "dimensions": 16,
    "encoding_format": "float",
    "user": "u1",
}


@st.composite
def _mutated(draw: st.DrawFn) -> dict[str, Any]:
    body = json.loads(json.dumps(_FUZZ_BASE))
    mutate(draw, body)
    return body


@SETTINGS
@given(body=_mutated())
def test_mutated_bodies_never_crash(body: dict[str, Any]) -> None:
    with mock(seed=0, time_scale=1e-6):
        response = httpx.post(
            "https://api.openai.com/v1/embeddings",
            content=json.dumps(body).encode(),
            headers={"authorization": "Bearer test", "content-type": "application/json"},
        )
        _check("openai", response)
