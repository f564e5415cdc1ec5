"""The OpenAI Responses API wire format: /v1/responses (create, retrieve, delete) and
/v1/responses/input_tokens.

Same model and physics as Chat Completions (:mod:`._openai`): a request is translated to its
Chat Completions twin (:mod:`._openai_responses_request`), so prompt tokens, automatic prefix
caching, latency, rate limits, faults and billing follow the same rules, and the answer is
shaped as a Response object or its ``response.*`` event stream
(:mod:`._openai_responses_stream`). Stored responses (``store``, default true) are kept per API
key, bounded in memory, for ``previous_response_id`` and ``GET /v1/responses/{id}``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmlab import tokens as tk
from llmlab.sim._engine import Simulator
from llmlab.sim._exchange import SimRequest, SimResponse
from llmlab.sim.model import _strength
from llmlab.sim.model._catalog import ModelProfile, lookup
from llmlab.sim.model._generate import Generation, ToolCallOut, generate
from llmlab.sim.model._lm import model_for
from llmlab.sim.model._sampling import SamplingParams
from llmlab.sim.model._skills import Behaviour
from llmlab.sim.physics._faults import decode_slowdown
from llmlab.sim.physics._latency import decode_times, time_to_first_token
from llmlab.sim.physics._per_sim import PerSimulator
from llmlab.sim.wire._http import ApiError, json_response, key_id, parse_json_body
from llmlab.sim.wire._openai_common import (
    admit,
    cached_tokens,
    dated,
    fault_error,
    is_strict,
    settler,
)
from llmlab.sim.wire._openai_request import _bad, _conversation, _not_found, _number
from llmlab.sim.wire._openai_responses_request import ParsedRequest, parse
from llmlab.sim.wire._openai_responses_stream import error_event, events

#: the API's floor for max_output_tokens
MIN_OUTPUT_TOKENS = 16
#: stored responses kept per simulator (oldest dropped first), and the text they may hold
MAX_STORED = 1000
MAX_STORED_BYTES = 32 * 2**20


@dataclass
class _Stored:
    response: dict[str, Any]  # the Response object as it was returned
    items: list[dict[str, Any]]  # the conversation so far: history, input, then output items
    size: int  # bytes of this response's own input and output (history is shared)


class ResponseStore:
    """Stored responses by (API key bucket, response id), bounded in count and bytes.

    A response's history list shares its items with the response it continued, so a long
    chain costs its text once; dropping an old response never breaks a newer one.
    """

    def __init__(self, max_entries: int = MAX_STORED, max_bytes: int = MAX_STORED_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], _Stored] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, bucket: str, entry_id: str, entry: _Stored) -> None:
        with self._lock:
            self._entries[(bucket, entry_id)] = entry
            self._bytes += entry.size
            while self._entries and (
                len(self._entries) > self.max_entries or self._bytes > self.max_bytes
            ):
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size

    def get(self, bucket: str, entry_id: str) -> _Stored | None:
        with self._lock:
            return self._entries.get((bucket, entry_id))

    def delete(self, bucket: str, entry_id: str) -> bool:
        with self._lock:
            entry = self._entries.pop((bucket, entry_id), None)
            if entry is not None:
                self._bytes -= entry.size
            return entry is not None

    def __len__(self) -> int:
        return len(self._entries)


_STORES: PerSimulator[ResponseStore] = PerSimulator(ResponseStore)


def store_for(sim: Simulator) -> ResponseStore:
    """The stored responses of ``sim`` (made on first use)."""
    return _STORES.of(sim)


def handle(sim: Simulator, request: SimRequest, key: str, headers: dict[str, str]) -> SimResponse:
    """Answer a request under /v1/responses (the caller formats any ApiError raised)."""
    path = request.path.rstrip("/")
    rest = path[len("/v1/responses") :].lstrip("/")
    bucket = key_id(key)
    if request.method == "POST" and rest == "":
        return _create(sim, request, bucket, headers)
    if request.method == "POST" and rest == "input_tokens":
        return _count(parse_json_body(request), sim, bucket, headers)
    if rest and "/" not in rest and request.method in ("GET", "DELETE"):
        stored = store_for(sim).get(bucket, rest)
        if stored is None:
            raise ApiError(404, "invalid_request_error", f"Response with id '{rest}' not found.")
        if request.method == "GET":
            return json_response(200, stored.response, headers)
        store_for(sim).delete(bucket, rest)
        return json_response(200, {"id": rest, "object": "response", "deleted": True}, headers)
    raise ApiError(404, "invalid_request_error", f"Invalid URL ({request.method} {request.path})")


def _profile(body: dict[str, Any]) -> ModelProfile:
    model = body.get("model")
    if not isinstance(model, str):
        raise _bad("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    profile = lookup(model, "openai")
    if profile is None:
        raise _not_found(model)
    return profile


def _history(body: dict[str, Any], sim: Simulator, bucket: str) -> list[dict[str, Any]]:
    previous = body.get("previous_response_id")
    if previous is None:
        return []
    if not isinstance(previous, str):
        raise _bad(
            "Invalid type for 'previous_response_id': expected a string.",
            "previous_response_id",
            "invalid_type",
        )
    stored = store_for(sim).get(bucket, previous)
    if stored is None:
        raise _bad(
            f"Previous response with id '{previous}' not found.",
            "previous_response_id",
            "previous_response_not_found",
        )
    return stored.items


def _prompt_tokens(
    body: dict[str, Any],
    history: list[dict[str, Any]],
    parsed: ParsedRequest,
    profile: ModelProfile,
) -> int:
    """Input tokens billed: :func:`llmlab.tokens.responses_tokens` of history + input, the
    instructions and the tools as sent, so a client's local count equals the reported usage."""
    return tk.responses_tokens(
        [*history, *parsed.items], body.get("instructions"), body.get("tools"), profile.id
    )


def _count(
    body: dict[str, Any], sim: Simulator, bucket: str, headers: dict[str, str]
) -> SimResponse:
    """POST /v1/responses/input_tokens: the input tokens a create with this body would use."""
    profile = _profile({"model": body.get("model") or "gpt-4.1"})
    history = _history(body, sim, bucket)
    parsed = parse(body, history)
    tokens = _prompt_tokens(body, history, parsed, profile)
    count = {"object": "response.input_tokens", "input_tokens": tokens}
    return json_response(200, count, headers)


#: draw -> hex digit, for one bytes.translate of all of an id's draws
_HEX_TABLE = bytes.maketrans(bytes(range(16)), b"0123456789abcdef")


def _hex_id(prefix: str, rng: np.random.Generator, length: int = 48) -> str:
    draws = rng.integers(0, 16, length).astype(np.uint8).tobytes()
    return prefix + draws.translate(_HEX_TABLE).decode("ascii")


def _max_output(body: dict[str, Any], profile: ModelProfile) -> int | None:
    requested = body.get("max_output_tokens")
    if requested is None:
        return None
    if not isinstance(requested, int) or isinstance(requested, bool):
        raise _bad(
            "Invalid type for 'max_output_tokens': expected an integer.",
            "max_output_tokens",
            "invalid_type",
        )
    if requested < MIN_OUTPUT_TOKENS:
        raise _bad(
            "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= "
            f"{MIN_OUTPUT_TOKENS}, but got {requested} instead.",
            "max_output_tokens",
            "integer_below_min_value",
        )
    if requested > profile.max_output:
        raise _bad(
            f"max_output_tokens is too large: {requested}. This model supports at most "
            f"{profile.max_output} output tokens, whereas you provided {requested}.",
            "max_output_tokens",
            "invalid_value",
        )
    return requested


def _output_items(
    gen: Generation, rng: np.random.Generator, sim: Simulator, complete: bool
) -> list[dict[str, Any]]:
    status = "completed" if complete else "incomplete"
    items: list[dict[str, Any]] = []
    if gen.text or not any(isinstance(p, ToolCallOut) for p in gen.parts):
        items.append(
            {
                "id": _hex_id("msg_", rng),
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": gen.text, "annotations": [], "logprobs": []}
                ],
            }
        )
    for part in gen.parts:
        if isinstance(part, ToolCallOut):
            items.append(
                {
                    "id": _hex_id("fc_", rng),
                    "type": "function_call",
                    "status": status,
                    "arguments": part.arguments,
                    "call_id": sim.new_id("call_", rng),
                    "name": part.name,
                }
            )
    return items


def _create(
    sim: Simulator, request: SimRequest, bucket: str, headers: dict[str, str]
) -> SimResponse:
    body = parse_json_body(request)
    profile = _profile(body)
    store = body.get("store") is not False
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        raise ApiError(
            400,
            "invalid_request_error",
            "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
            param="reasoning.effort",
            code="unsupported_parameter",
        )
    history = _history(body, sim, bucket)
    parsed = parse(body, history)
    temperature = _number(body, "temperature", 0, 2)
    top_p = _number(body, "top_p", 0, 1)
    requested = _max_output(body, profile)
    prompt_tokens = _prompt_tokens(body, history, parsed, profile)
    if prompt_tokens > profile.context_window:
        raise _bad(
            f"Your input exceeds the context window of this model ({profile.context_window} "
            f"tokens; the input has {prompt_tokens}). Please adjust your input and try again.",
            "input",
            "context_length_exceeded",
        )
    max_tokens = requested or min(profile.max_output, profile.context_window - prompt_tokens)
    now = sim.clock.now()
    admit(sim, bucket, profile, prompt_tokens, headers, now)
    rng = sim.rng_for("openai", body)
    fault = sim.next_fault(rng, "openai")
    if fault is not None and fault.kind in ("429", "quota", "500", "503", "529"):
        raise fault_error(sim, fault.kind)
    cached = cached_tokens(sim, profile.id + "|" + bucket, parsed.chat, profile, now)
    sim.record_call("openai", prompt_tokens, cached)
    conv = _conversation(parsed.chat)
    params = SamplingParams(temperature=1.0 if temperature is None else temperature, top_p=top_p)
    behaviour = (
        Behaviour(prose_json_quirk_rate=sim.behaviour.prose_json_quirk_rate)
        if is_strict(parsed.chat)
        else sim.behaviour
    )
    with _strength.serving(profile.id):
        gen = generate(model_for(profile.encoding), conv, params, max_tokens, [], rng, behaviour)
    complete = gen.stop != "max_tokens"
    response_id = _hex_id("resp_", rng)
    output = _output_items(gen, rng, sim, complete)
    created = int(time.time())  # the wall clock, as Chat Completions' created
    ttft = time_to_first_token(profile.latency, prompt_tokens - cached, cached, rng)
    steps = decode_times(profile.latency, gen.output_tokens, rng, decode_slowdown(fault))
    seconds = sim.clock.real(ttft + sum(steps))
    headers["openai-processing-ms"] = str(int(seconds * 1000))
    response: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": "completed" if complete else "incomplete",
        "background": False,
        "completed_at": created + max(int(seconds), 1) if complete else None,
        "error": None,
        "incomplete_details": None if complete else {"reason": "max_output_tokens"},
        "instructions": body.get("instructions"),
        "max_output_tokens": requested,
        "max_tool_calls": body.get("max_tool_calls"),
        "model": dated(profile.id),
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
        "store": store,
        "temperature": 1.0 if temperature is None else temperature,
        "text": parsed.text,
        "tool_choice": parsed.tool_choice,
        "tools": parsed.tools,
        "top_logprobs": body.get("top_logprobs") or 0,
        "top_p": 1.0 if top_p is None else top_p,
        "truncation": body.get("truncation") or "disabled",
        "usage": {
            "input_tokens": prompt_tokens,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": gen.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt_tokens + gen.output_tokens,
        },
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }
    encoded = None  # the response's JSON text, made once for its stored size and its body
    if store:  # kept as soon as it is generated: the stream that delivers it cannot change it
        own = [*parsed.items, *output]
        encoded = json.dumps(response)
        size = len(json.dumps(own)) + len(encoded)
        store_for(sim).put(bucket, response_id, _Stored(response, [*history, *own], size))

    settle = settler(sim, bucket, response_id, profile.id, prompt_tokens, cached, gen.output_tokens)
    if body.get("stream"):
        timeline = events(response, gen, ttft, steps)
        return SimResponse(
            200,
            {"content-type": "text/event-stream; charset=utf-8", **headers},
            sim.paced(timeline, settle, fault, error_event(fault, len(timeline))),
            streaming=True,
        )
    data = (json.dumps(response) if encoded is None else encoded).encode()
    pieces = sim.paced([(ttft + sum(steps), data, gen.output_tokens)], settle, fault)
    return SimResponse(200, {"content-type": "application/json", **headers}, pieces)
