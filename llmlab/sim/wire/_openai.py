"""The OpenAI Chat Completions wire format: /v1/chat/completions and /v1/models.

/v1/responses (the Responses API) is answered by :mod:`._openai_responses`, /v1/embeddings
by :mod:`._openai_embeddings`.
"""

from __future__ import annotations

import json
import re
import time
from itertools import repeat
from typing import Any

import numpy as np

from llmlab import tokens as tk
from llmlab.sim._engine import Simulator
from llmlab.sim._exchange import SimRequest, SimResponse
from llmlab.sim.model import _strength
from llmlab.sim.model._catalog import lookup, models_for
from llmlab.sim.model._generate import Generation, TextOut, ToolCallOut, generate
from llmlab.sim.model._lm import model_for
from llmlab.sim.model._sampling import SamplingParams
from llmlab.sim.model._skills import Behaviour
from llmlab.sim.physics._faults import decode_slowdown
from llmlab.sim.physics._latency import decode_times, time_to_first_token
from llmlab.sim.wire import _openai_embeddings, _openai_responses
from llmlab.sim.wire._http import (
    ApiError,
    api_key,
    check_body_size,
    id_seed,
    json_response,
    key_id,
    parse_json_body,
    sse,
)
from llmlab.sim.wire._openai_common import (
    admit,
    cached_tokens,
    dated,
    fault_error,
    is_strict,
    settler,
)
from llmlab.sim.wire._openai_request import (
    _bad,
    _conversation,
    _model_entry,
    _not_found,
    _number,
    check_chat_fields,
)
from llmlab.sim.wire._sse import HOLE, next_steps, sse_filler

_FINISH = {"end": "stop", "max_tokens": "length", "stop_sequence": "stop", "tool_use": "tool_calls"}
FINGERPRINT = "fp_11ab5e1a"


def handle(sim: Simulator, request: SimRequest) -> SimResponse:
    rng = sim.rng_for("openai", id_seed(request))
    request_id = "req_" + sim.new_id("", rng, 32).lower()
    headers = {
        "x-request-id": request_id,
        "openai-version": "2020-10-01",
        "openai-organization": "llmlab-simulator",
    }
    try:
        check_body_size(request, "invalid_request_error")
        key = api_key(request)
        if key is None:
            raise ApiError(
                401,
                "invalid_request_error",
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                "YOUR_KEY).",
            )
        if request.method == "GET" and request.path.rstrip("/") == "/v1/models":
            return json_response(
                200,
                {"object": "list", "data": [_model_entry(m) for m in models_for("openai")]},
                headers,
            )
        if request.method == "GET" and request.path.startswith("/v1/models/"):
            model = request.path.rsplit("/", 1)[1]
            profile = lookup(model, "openai", kind=None)
            if profile is None:
                raise _not_found(model)
            return json_response(200, _model_entry(profile), headers)
        if request.method == "POST" and request.path == "/v1/chat/completions":
            return _completions(sim, request, key, headers)
        if request.method == "POST" and request.path == "/v1/embeddings":
            return _openai_embeddings.handle(sim, request, key, headers)
        if request.path.rstrip("/") == "/v1/responses" or request.path.startswith("/v1/responses/"):
            return _openai_responses.handle(sim, request, key, headers)
        raise ApiError(
            404, "invalid_request_error", f"Invalid URL ({request.method} {request.path})"
        )
    except ApiError as err:
        sim.record_error(err.status, err.code or err.kind)
        body = {
            "error": {
                "message": err.message,
                "type": err.kind,
                "param": err.param,
                "code": err.code,
            }
        }
        return json_response(err.status, body, {**headers, **err.headers})


# -- generation ---------------------------------------------------------------------------------
def _completions(
    sim: Simulator, request: SimRequest, key: str, headers: dict[str, str]
) -> SimResponse:
    body = parse_json_body(request)
    check_chat_fields(body)
    model = body.get("model")
    if not isinstance(model, str):
        raise _bad("you must provide a model parameter", "model", "missing_required_parameter")
    profile = lookup(model, "openai")
    if profile is None:
        raise _not_found(model)
    conv = _conversation(body)
    temperature = _number(body, "temperature", 0, 2)
    top_p = _number(body, "top_p", 0, 1)
    freq = _number(body, "frequency_penalty", -2, 2) or 0.0
    pres = _number(body, "presence_penalty", -2, 2) or 0.0
    n = body.get("n")
    n = 1 if n is None else n
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 128:
        raise _bad(
            "Invalid 'n': integer below minimum value or above maximum.", "n", "invalid_value"
        )
    top_n = body.get("top_logprobs") or 0
    if top_n and not body.get("logprobs"):
        raise _bad(
            "Invalid value for 'logprobs': must be true when 'top_logprobs' is set.", "logprobs"
        )
    if not isinstance(top_n, int) or not 0 <= top_n <= 20:
        raise _bad("Invalid 'top_logprobs': must be an integer between 0 and 20.", "top_logprobs")
    requested = body.get("max_completion_tokens", body.get("max_tokens"))
    name = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    if requested is not None and (not isinstance(requested, int) or requested < 1):
        raise _bad(
            f"Invalid '{name}': integer below minimum value.", name, "integer_below_min_value"
        )
    if requested is not None and requested > profile.max_output:
        raise _bad(
            f"max_tokens is too large: {requested}. This model supports at most "
            f"{profile.max_output} completion tokens, whereas you provided {requested}.",
            name,
            "invalid_value",
        )
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop or []
    if not isinstance(stops, list) or len(stops) > 4 or not all(isinstance(s, str) for s in stops):
        raise _bad("Invalid 'stop': expected a string or an array of at most 4 strings.", "stop")
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise _bad("Invalid type for 'seed': expected an integer.", "seed", "invalid_type")
    stream_options = body.get("stream_options")
    if stream_options is not None and not body.get("stream"):
        raise _bad(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    if stream_options is not None and not isinstance(stream_options, dict):
        raise _bad(
            "Invalid type for 'stream_options': expected an object.",
            "stream_options",
            "invalid_type",
        )
    stream_options = stream_options or {}
    prompt_tokens = tk.chat_tokens(body["messages"], profile.id) + tk.chat_tools_tokens(
        body.get("tools"), profile.id
    )
    if prompt_tokens > profile.context_window:
        raise _bad(
            f"This model's maximum context length is {profile.context_window} tokens. "
            f"However, your messages resulted in {prompt_tokens} tokens. Please reduce the "
            "length of the messages.",
            "messages",
            "context_length_exceeded",
        )
    max_tokens = requested or min(profile.max_output, profile.context_window - prompt_tokens)
    now = sim.clock.now()
    bucket = key_id(key)
    admit(sim, bucket, profile, prompt_tokens, headers, now)
    rng = sim.rng_for("openai", body, fixed_seed=seed)
    fault = sim.next_fault(rng, "openai")
    if fault is not None and fault.kind in ("429", "quota", "500", "503", "529"):
        raise fault_error(sim, fault.kind)
    cached = cached_tokens(sim, profile.id + "|" + bucket, body, profile, now)
    sim.record_call("openai", prompt_tokens, cached)
    params = SamplingParams(
        temperature=1.0 if temperature is None else temperature,
        top_p=top_p,
        frequency_penalty=freq,
        presence_penalty=pres,
    )
    strict = is_strict(body)
    behaviour = (
        Behaviour(prose_json_quirk_rate=sim.behaviour.prose_json_quirk_rate)
        if strict
        else sim.behaviour
    )
    lm = model_for(profile.encoding)
    with _strength.serving(profile.id):
        gens = [
            generate(
                lm,
                conv,
                params,
                max_tokens,
                stops,
                rng,
                behaviour,
                top_n if body.get("logprobs") else 0,
            )
            for _ in range(n)
        ]
    completion_tokens = sum(g.output_tokens for g in gens)
    completion_id = sim.new_id("chatcmpl-", rng, 29)
    created = int(time.time())  # the wall clock, as the real API: nothing else depends on it
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    named = conv.tool_choice.mode == "tool"
    choices = [
        _choice(i, g, rng, sim, bool(body.get("logprobs")), named) for i, g in enumerate(gens)
    ]
    ttft = time_to_first_token(profile.latency, prompt_tokens - cached, cached, rng)
    steps = decode_times(
        profile.latency,
        max(g.output_tokens for g in gens),
        rng,
        decode_slowdown(fault),
    )
    headers["openai-processing-ms"] = str(int(sim.clock.real(ttft + sum(steps)) * 1000))

    settle = settler(
        sim, bucket, completion_id, profile.id, prompt_tokens, cached, completion_tokens
    )

    base = {
        "id": completion_id,
        "created": created,
        # an alias answers with its dated snapshot; a snapshot id comes back as sent
        "model": dated(profile.id) if model == profile.id else model,
        "system_fingerprint": FINGERPRINT,
        "service_tier": "default",
    }
    if body.get("stream"):
        include_usage = bool(stream_options.get("include_usage"))
        timeline = _chunks(base, gens, choices, usage if include_usage else None, ttft, steps)
        error = sse(
            None,
            {
                "error": {
                    "message": "The server had an error while processing your "
                    "request. Sorry about that!",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
        )
        return SimResponse(
            200,
            {"content-type": "text/event-stream; charset=utf-8", **headers},
            sim.paced(timeline, settle, fault, error),
            streaming=True,
        )
    data = json.dumps({**base, "object": "chat.completion", "choices": choices, "usage": usage})
    pieces = sim.paced(
        [(ttft + sum(steps), data.encode(), completion_tokens)],
        settle,
        fault,
    )
    return SimResponse(200, {"content-type": "application/json", **headers}, pieces)


def _logprob_entry(token: Any) -> dict[str, Any]:
    return {
        "token": token.text,
        "logprob": round(token.logprob, 6),
        "bytes": list(token.raw),
        "top_logprobs": [
            {"token": t, "logprob": round(lp, 6), "bytes": list(b)} for t, b, lp in token.top
        ],
    }


def _choice(
    index: int,
    gen: Generation,
    rng: np.random.Generator,
    sim: Simulator,
    logprobs: bool,
    named_tool: bool,
) -> dict[str, Any]:
    text = gen.text
    calls = [
        {
            "id": sim.new_id("call_", rng),
            "type": "function",
            "function": {"name": p.name, "arguments": p.arguments},
        }
        for p in gen.parts
        if isinstance(p, ToolCallOut)
    ]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not calls else None,
        "refusal": None,
        "annotations": [],
    }
    if calls:
        message["tool_calls"] = calls
    finish = _FINISH[gen.stop]
    if finish == "tool_calls" and named_tool:
        finish = "stop"  # the real API answers a named tool_choice with finish_reason "stop"
    lp = None
    if logprobs:
        # one entry per billed token: the text's own, then any stop-sequence or end token
        tokens = [t for p in gen.parts if isinstance(p, TextOut) for t in (*p.tokens, *p.unseen)]
        lp = {"content": [_logprob_entry(t) for t in tokens], "refusal": None}
    return {"index": index, "message": message, "logprobs": lp, "finish_reason": finish}


def _chunks(
    base: dict[str, Any],
    gens: list[Generation],
    choices: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    ttft: float,
    steps: list[float],
) -> list[tuple[float, bytes, int]]:
    def frame_dict(choice_list: list[dict[str, Any]], with_usage: bool = False) -> dict[str, Any]:
        chunk = {**base, "object": "chat.completion.chunk", "choices": choice_list}
        if usage is not None:
            chunk["usage"] = usage if with_usage else None
        return chunk

    def frame(choice_list: list[dict[str, Any]], with_usage: bool = False) -> bytes:
        return sse(None, frame_dict(choice_list, with_usage))

    timeline: list[tuple[float, bytes, int]] = []
    step_iter = iter(steps)
    for gen, choice in zip(gens, choices, strict=True):
        i = choice["index"]
        delay = ttft if i == 0 else 0.0
        timeline.append(
            (
                delay if not gen.parts or not gen.text else 0.0,
                frame(
                    [
                        {
                            "index": i,
                            "delta": {"role": "assistant", "content": "", "refusal": None},
                            "logprobs": None,
                            "finish_reason": None,
                        }
                    ]
                ),
                0,
            )
        )
        first = True
        plain = sse_filler(  # a token's frame without logprobs: encoded once per choice
            None,
            frame_dict(
                [{"index": i, "delta": {"content": HOLE}, "logprobs": None, "finish_reason": None}]
            ),
        )
        for part in gen.parts:
            if isinstance(part, TextOut) and choice["logprobs"] is None and part.tokens:
                # one frame a token, spliced into one encoding; the first choice is paced
                texts = [tok.text for tok in part.tokens]
                if i != 0:
                    waits = [0.0] * len(texts)
                elif first:
                    waits = [ttft, *next_steps(step_iter, len(texts) - 1)]
                else:
                    waits = next_steps(step_iter, len(texts))
                first = False
                timeline.extend(zip(waits, map(plain, texts), repeat(1)))
            elif isinstance(part, TextOut):
                for tok in part.tokens:
                    wait = ttft if first and i == 0 else next(step_iter, 0.0) if i == 0 else 0.0
                    first = False
                    if choice["logprobs"] is None:
                        timeline.append((wait, plain(tok.text), 1))
                        continue
                    lp = {"content": [_logprob_entry(tok)], "refusal": None}
                    timeline.append(
                        (
                            wait,
                            frame(
                                [
                                    {
                                        "index": i,
                                        "delta": {"content": tok.text},
                                        "logprobs": lp,
                                        "finish_reason": None,
                                    }
                                ]
                            ),
                            1,
                        )
                    )
        calls = choice["message"].get("tool_calls") or []
        for k, call in enumerate(calls):
            part = [p for p in gen.parts if isinstance(p, ToolCallOut)][k]
            wait = ttft if first and i == 0 else 0.0
            first = False
            timeline.append(
                (
                    wait,
                    frame(
                        [
                            {
                                "index": i,
                                "delta": {
                                    "tool_calls": [
                                        {
                                            "index": k,
                                            "id": call["id"],
                                            "type": "function",
                                            "function": {
                                                "name": call["function"]["name"],
                                                "arguments": "",
                                            },
                                        }
                                    ]
                                },
                                "logprobs": None,
                                "finish_reason": None,
                            }
                        ]
                    ),
                    0,
                )
            )
            pieces = re.findall(r".{1,12}", part.arguments, re.DOTALL)
            per = max(part.n_tokens // max(len(pieces), 1), 1)
            for piece in pieces:
                wait = sum(next(step_iter, 0.0) for _ in range(per)) if i == 0 else 0.0
                timeline.append(
                    (
                        wait,
                        frame(
                            [
                                {
                                    "index": i,
                                    "delta": {
                                        "tool_calls": [
                                            {"index": k, "function": {"arguments": piece}}
                                        ]
                                    },
                                    "logprobs": None,
                                    "finish_reason": None,
                                }
                            ]
                        ),
                        per,
                    )
                )
        unseen = [t for p in gen.parts if isinstance(p, TextOut) for t in p.unseen]
        timeline.append(
            (
                0.0,
                frame(
                    [
                        {
                            "index": i,
                            "delta": {},
                            "logprobs": (
                                {"content": [_logprob_entry(t) for t in unseen], "refusal": None}
                                if choice["logprobs"] is not None and unseen
                                else None
                            ),
                            "finish_reason": choice["finish_reason"],
                        }
                    ]
                ),
                0,
            )
        )
    if usage is not None:
        timeline.append((0.0, frame([], with_usage=True), 0))
    timeline.append((0.0, b"data: [DONE]\n\n", 0))
    return timeline
