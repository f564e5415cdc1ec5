"""The OpenAI Embeddings wire format: POST /v1/embeddings.

Request: ``model`` (text-embedding-3-small or -large), ``input`` (a string, an array of
strings, an array of token ids or an array of token-id arrays; at most 2048 inputs, each at
most 8192 tokens, 300,000 tokens in all), optional ``dimensions`` (shorten the vectors),
``encoding_format`` (``float`` or ``base64``: little-endian float32, which the ``openai`` SDK
asks for by default and decodes itself) and ``user``. Answer: ``{"object": "list", "data":
[{"object": "embedding", "index": i, "embedding": ...}], "model", "usage": {"prompt_tokens",
"total_tokens"}}``. The vectors come from :mod:`._embeddings`. Physics as for chat: the
rate limiter admits the input tokens, injected faults fire, latency is one prefill (no
decoding), and the call is billed at the model's input price (no output tokens).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from llmlab import tokens as tk
from llmlab.sim._engine import Simulator
from llmlab.sim._exchange import SimRequest, SimResponse
from llmlab.sim.model._catalog import ModelProfile, lookup
from llmlab.sim.model._embeddings import embed, shorten
from llmlab.sim.physics._latency import time_to_first_token
from llmlab.sim.wire._http import key_id, parse_json_body
from llmlab.sim.wire._openai_common import admit, fault_error, settler
from llmlab.sim.wire._openai_request import _bad, _not_found

FIELDS = frozenset({"model", "input", "dimensions", "encoding_format", "user"})
MAX_INPUTS = 2048
MAX_REQUEST_TOKENS = 300_000
_INVALID_INPUT = (
    "'$.input' is invalid. Please check the API reference: "
    "https://platform.openai.com/docs/api-reference."
)


def _texts(value: Any, profile: ModelProfile) -> list[tuple[str, int]]:
    """Each input as (text, token count); token-id arrays are decoded with the model's tokenizer."""
    enc = tk.encoding(profile.encoding)

    def tokens_of(ids: Any) -> tuple[str, int]:
        ok = isinstance(ids, list) and ids and all(_is_token(t, enc.n_vocab) for t in ids)
        if not ok:
            raise _bad(_INVALID_INPUT, "input")
        try:
            return enc.decode(ids), len(ids)
        except (KeyError, ValueError):  # an id inside the vocabulary's range that is no token
            raise _bad(_INVALID_INPUT, "input") from None

    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, list) and value and all(_is_token(t, enc.n_vocab) for t in value):
        return [tokens_of(value)]
    elif isinstance(value, list) and value:
        items = value
    else:
        raise _bad(_INVALID_INPUT, "input")
    if len(items) > MAX_INPUTS:
        raise _bad(
            f"'$.input' is invalid: at most {MAX_INPUTS} inputs per request, got {len(items)}.",
            "input",
        )
    out = []
    for item in items:
        if isinstance(item, list):
            out.append(tokens_of(item))
        elif isinstance(item, str) and item:
            out.append((item, tk.count(item, profile.id)))
        else:
            raise _bad(_INVALID_INPUT, "input")
    return out


def _is_token(value: Any, vocab: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < vocab


def _dimensions(body: dict[str, Any], profile: ModelProfile) -> int:
    dims = body.get("dimensions")
    if dims is None:
        return profile.dimensions
    if not isinstance(dims, int) or isinstance(dims, bool):
        raise _bad(
            "Invalid type for 'dimensions': expected an integer.", "dimensions", "invalid_type"
        )
    if not 1 <= dims <= profile.dimensions:
        raise _bad(
            f"Invalid value for 'dimensions' = {dims}. Must be between 1 and "
            f"{profile.dimensions}.",
            "dimensions",
            "invalid_value",
        )
    return dims


def _check(body: dict[str, Any]) -> tuple[ModelProfile, str]:
    for name in sorted(set(body) - FIELDS):
        raise _bad(f"Unrecognized request argument supplied: {name}")
    model = body.get("model")
    if not isinstance(model, str):
        raise _bad("you must provide a model parameter", "model", "missing_required_parameter")
    profile = lookup(model, "openai", kind="embedding")
    if profile is None:
        raise _not_found(model)
    if "input" not in body:
        raise _bad("'input' is a required property", "input", "missing_required_parameter")
    fmt = body.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        raise _bad(
            f"Invalid value for 'encoding_format': {fmt!r}. Supported values are: 'float' "
            "and 'base64'.",
            "encoding_format",
            "invalid_value",
        )
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise _bad("Invalid type for 'user': expected a string.", "user", "invalid_type")
    return profile, fmt


def _encoded(vec: np.ndarray, fmt: str) -> list[float] | str:
    f32 = vec.astype("<f4")
    if fmt == "base64":
        return base64.b64encode(f32.tobytes()).decode("ascii")
    return [float(x) for x in f32]


def handle(sim: Simulator, request: SimRequest, key: str, headers: dict[str, str]) -> SimResponse:
    """Answer one POST /v1/embeddings (errors raise ApiError for the caller to shape)."""
    body = parse_json_body(request)
    profile, fmt = _check(body)
    inputs = _texts(body["input"], profile)
    dims = _dimensions(body, profile)
    for _, count in inputs:
        if count > profile.context_window:
            raise _bad(
                f"This model's maximum context length is {profile.context_window} tokens, "
                f"however you requested {count} tokens ({count} in your prompt; 0 for the "
                "completion). Please reduce your prompt; or completion length.",
                "input",
                "context_length_exceeded",
            )
    prompt_tokens = sum(count for _, count in inputs)
    if prompt_tokens > MAX_REQUEST_TOKENS:
        raise _bad(
            f"Requested {prompt_tokens} tokens, max {MAX_REQUEST_TOKENS} tokens per request",
            "input",
            "max_tokens_per_request",
        )
    now = sim.clock.now()
    bucket = key_id(key)
    admit(sim, bucket, profile, prompt_tokens, headers, now)
    rng = sim.rng_for("openai", body)
    fault = sim.next_fault(rng, "openai")
    if fault is not None and fault.kind in ("429", "quota", "500", "503", "529"):
        raise fault_error(sim, fault.kind)
    sim.record_call("openai", prompt_tokens, 0)
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": _encoded(shorten(embed(text, profile.id, profile.dimensions), dims), fmt),
        }
        for i, (text, _) in enumerate(inputs)
    ]
    request_id = "emb-" + headers["x-request-id"].removeprefix("req_")
    wait = time_to_first_token(profile.latency, prompt_tokens, 0, rng)
    headers["openai-model"] = profile.id
    headers["openai-processing-ms"] = str(int(sim.clock.real(wait) * 1000))
    usage = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    payload = json.dumps({"object": "list", "data": data, "model": profile.id, "usage": usage})
    settle = settler(sim, bucket, request_id, profile.id, prompt_tokens, 0, 0)
    pieces = sim.paced([(wait, payload.encode(), 0)], settle, fault)
    return SimResponse(200, {"content-type": "application/json", **headers}, pieces)
