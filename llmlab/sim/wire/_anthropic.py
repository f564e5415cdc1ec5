"""The Anthropic Messages wire format: /v1/messages, /v1/messages/count_tokens, /v1/models."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any

import numpy as np

from llmlab import tokens as tk
from llmlab.sim._engine import Simulator
from llmlab.sim._exchange import SimRequest, SimResponse
from llmlab.sim.model import _strength
from llmlab.sim.model._catalog import DEFAULT_MODEL, ModelProfile, lookup, models_for
from llmlab.sim.model._conversation import Conversation, Part, Tool, ToolChoice, Turn
from llmlab.sim.model._generate import Generation, TextOut, generate
from llmlab.sim.model._lm import model_for
from llmlab.sim.model._sampling import SamplingParams
from llmlab.sim.model._skills import Behaviour
from llmlab.sim.physics._cache import Segment
from llmlab.sim.physics._cache_diagnostics import Fingerprint
from llmlab.sim.physics._faults import decode_slowdown
from llmlab.sim.physics._latency import decode_times, time_to_first_token
from llmlab.sim.physics._ratelimit import retry_after_headers, utc_stamp
from llmlab.sim.wire._anthropic_request import check_request_fields
from llmlab.sim.wire._anthropic_sse import sse_timeline
from llmlab.sim.wire._anthropic_structured import output_schema
from llmlab.sim.wire._anthropic_version import ApiVersion, api_version, refuse_sampling
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
from llmlab.sim.wire._thinking import think, thinking_block, thinking_config
from llmlab.sim.wire._threads import resolve as resolve_thread
from llmlab.sim.wire._validate import (
    ANTHROPIC_COUNT_FIELDS,
    ANTHROPIC_MESSAGE_FIELDS,
    sanitize_schema,
    unknown_fields,
)

_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_STOP = {
    "end": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
}
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_BLOCK_TYPES = {
    "text",
    "image",
    "document",
    "tool_use",
    "tool_result",
    "thinking",  # an earlier reply's thinking, passed back (required with tools and thinking)
    "redacted_thinking",
    "search_result",
}


def handle(sim: Simulator, request: SimRequest) -> SimResponse:
    rng = sim.rng_for("anthropic", id_seed(request))
    request_id = sim.new_id("req_", rng)
    headers = {"request-id": request_id, "anthropic-organization-id": "llmlab-simulator"}
    try:
        check_body_size(request, "request_too_large")
        key = api_key(request)
        if key is None:
            raise ApiError(401, "authentication_error", "x-api-key header is required")
        version = api_version(request.headers)
        if request.method == "GET" and request.path.rstrip("/") == "/v1/models":
            return json_response(200, _model_list(), headers)
        if request.method == "GET" and request.path.startswith("/v1/models/"):
            return json_response(200, _model_info(request.path.rsplit("/", 1)[1]), headers)
        if request.method == "POST" and request.path == "/v1/messages/count_tokens":
            body = parse_json_body(request)
            _, _, total = _validate(body, version, counting=True)
            return json_response(200, {"input_tokens": total}, headers)
        if request.method == "POST" and request.path == "/v1/messages":
            return _messages(sim, request, key, headers, version)
        raise ApiError(404, "not_found_error", f"Not found: {request.method} {request.path}")
    except ApiError as err:
        sim.record_error(err.status, err.kind)
        body = {
            "type": "error",
            "error": {"type": err.kind, "message": err.message},
            "request_id": request_id,
        }
        if err.details is not None:
            body["error"]["details"] = err.details
        return json_response(err.status, body, {**headers, **err.headers})


def _error(status: int, message: str, **kw: Any) -> ApiError:
    return ApiError(status, _STATUS_TYPES.get(status, "api_error"), message, **kw)


# -- models -------------------------------------------------------------------------------------
def _model_entry(m: ModelProfile) -> dict[str, Any]:
    created = dt.datetime.fromtimestamp(m.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "type": "model",
        "id": m.id,
        "display_name": m.display_name or m.id,
        "created_at": created,
        "lifecycle": m.lifecycle,
        "deprecated_at": m.deprecated_at,
        "retires_at": m.retires_at,
        "max_input_tokens": m.context_window,
        "max_tokens": m.max_output,
        "line": None,
        "capabilities": None,
    }


def _model_list() -> dict[str, Any]:
    data = [_model_entry(m) for m in models_for("anthropic")]
    return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}


def _model_info(model: str) -> dict[str, Any]:
    profile = lookup(model, "anthropic")
    if profile is None:
        raise _error(404, f"model: {model}")
    return _model_entry(profile)


# -- validation ---------------------------------------------------------------------------------
def _validate(
    body: dict[str, Any], version: ApiVersion, counting: bool = False
) -> tuple[Conversation, ModelProfile, int]:
    """The request's conversation, model and input tokens, or the 4xx the API answers with."""
    allowed = ANTHROPIC_COUNT_FIELDS if counting else ANTHROPIC_MESSAGE_FIELDS
    for name in unknown_fields(body, allowed):
        raise _error(400, f"{name}: Extra inputs are not permitted")
    refuse_sampling(body, version)
    check_request_fields(body)
    model = body.get("model")
    if not isinstance(model, str):
        raise _error(400, "model: Field required")
    profile = lookup(model, "anthropic")
    if profile is None:
        raise _error(404, f"model: {model}")
    if profile.lifecycle == "retired":
        successor = DEFAULT_MODEL["anthropic"]
        raise _error(
            404,
            f"model: {model} was retired on {(profile.retires_at or '')[:10]} and can no "
            f"longer be used; migrate to a current model such as {successor}",
        )
    if not counting:
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            raise _error(400, "max_tokens: Field required")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise _error(400, "max_tokens: Input should be a valid integer greater than 0")
        if max_tokens > profile.max_output:
            raise _error(
                400,
                f"max_tokens: {max_tokens} > {profile.max_output}, which is the "
                f"maximum allowed number of output tokens for {profile.id}",
            )
    for name, low, high in (("temperature", 0.0, 1.0), ("top_p", 0.0, 1.0)):
        value = body.get(name)
        if value is not None and (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not low <= value <= high
        ):
            raise _error(400, f"{name}: Input should be between {low} and {high}")
    top_k = body.get("top_k")
    if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0):
        raise _error(400, "top_k: Input should be a non-negative integer")
    _stop_sequences(body.get("stop_sequences"))
    tools = _tools(body.get("tools"))
    turns, system_messages = _turns(body.get("messages"), version)
    conv = Conversation(
        system="\n".join(t for t in (_system_text(body.get("system")), *system_messages) if t),
        turns=turns,
        tools=tools,
        tool_choice=_tool_choice(body.get("tool_choice"), tools),
    )
    schema = output_schema(body)
    conv.response_schema = None if schema is None else sanitize_schema(schema)
    if conv.turns and conv.turns[-1].role == "assistant":
        conv.prefill = conv.turns[-1].text
        if conv.prefill != conv.prefill.rstrip():
            raise _error(
                400, "messages: final assistant content cannot end with trailing whitespace"
            )
    breakpoints = _count_breakpoints(body)
    if breakpoints > 4:
        raise _error(
            400, f"A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}."
        )
    total = _count(body)
    if total > profile.context_window:
        raise _error(400, f"prompt is too long: {total} tokens > {profile.context_window} maximum")
    return conv, profile, total


def _system_text(system: Any) -> str:
    if system is None:
        return ""
    if isinstance(system, str):
        return system
    if isinstance(system, list) and all(
        isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        for b in system
    ):
        return "\n".join(b["text"] for b in system)
    raise _error(400, "system: Input should be a valid string or a list of text blocks")


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _error(400, f"{where}.content: Input should be a valid string or list of blocks")
    for j, block in enumerate(content):
        if not isinstance(block, dict) or str(block.get("type")) not in _BLOCK_TYPES:
            kind = block.get("type") if isinstance(block, dict) else type(block).__name__
            raise _error(400, f"{where}.content.{j}: unknown content block type {kind!r}")
        if block["type"] == "text" and not isinstance(block.get("text"), str):
            raise _error(400, f"{where}.content.{j}.text: Field required")
        if block["type"] == "tool_use" and not (
            isinstance(block.get("id"), str)
            and isinstance(block.get("name"), str)
            and isinstance(block.get("input"), dict)
        ):
            raise _error(400, f"{where}.content.{j}: tool_use needs id, name and an input object")
        if block["type"] == "tool_result":
            if not isinstance(block.get("tool_use_id"), str):
                raise _error(400, f"{where}.content.{j}.tool_use_id: Field required")
            inner = block.get("content", "")
            if not isinstance(inner, str) and not (
                isinstance(inner, list)
                and all(
                    isinstance(b, dict)
                    and (
                        (b.get("type") == "text" and isinstance(b.get("text"), str))
                        or b.get("type") in ("image", "document")
                    )
                    for b in inner
                )
            ):
                raise _error(
                    400,
                    f"{where}.content.{j}.content: Input should be a valid string or a list "
                    "of text or image blocks",
                )
    return content


def _turns(messages: Any, version: ApiVersion) -> tuple[list[Turn], list[str]]:
    """The conversation's turns, and the text of any ``role: "system"`` entries (2026-10-21)."""
    if not isinstance(messages, list):
        raise _error(400, "messages: Field required")
    if not messages:
        raise _error(400, "messages: at least one message is required")
    roles = ("user", "assistant", "system") if version.system_messages else ("user", "assistant")
    turns: list[Turn] = []
    system: list[str] = []
    pending: set[str] = set()
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict) or message.get("role") not in roles:
            allowed = " or ".join(repr(r) for r in roles)
            raise _error(400, f"{where}.role: Input should be {allowed}")
        if message["role"] == "system":
            system.append(_system_text(message.get("content")))
            continue
        blocks = _blocks(message.get("content"), where)
        results = {b["tool_use_id"] for b in blocks if b["type"] == "tool_result"}
        if results - pending:
            missing = sorted(results - pending)[0]
            raise _error(
                400,
                f"{where}.content: unexpected `tool_use_id` found in `tool_result` "
                f"blocks: {missing}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message.",
            )
        if pending and not pending <= results:
            raise _error(
                400,
                f"{where}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(sorted(pending - results))}. Each "
                "`tool_use` block must have a corresponding `tool_result` block in "
                "the next message.",
            )
        pending = {b["id"] for b in blocks if b["type"] == "tool_use"}
        turns.append(Turn(message["role"], [_part(b) for b in blocks]))
    if not turns:
        raise _error(400, "messages: at least one user or assistant message is required")
    return turns, system


def _part(block: dict[str, Any]) -> Part:
    kind = block["type"]
    if kind == "text":
        return Part("text", text=block["text"])
    if kind == "tool_use":
        return Part("tool_call", id=block["id"], name=block["name"], input=block["input"])
    if kind == "tool_result":
        content = block.get("content", "")
        text = (
            content
            if isinstance(content, str)
            else "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
        )
        return Part(
            "tool_result",
            text=text,
            id=block["tool_use_id"],
            is_error=bool(block.get("is_error", False)),
        )
    return Part("image")


def _tools(tools: Any) -> list[Tool]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise _error(400, "tools: Input should be a valid list")
    out = []
    for i, tool in enumerate(tools):
        if (
            not isinstance(tool, dict)
            or not isinstance(tool.get("name"), str)
            or not _TOOL_NAME.match(tool["name"])
        ):
            raise _error(
                400, f"tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
            )
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise _error(
                400,
                f"tools.{i}.input_schema: JSON schema is invalid: the top level "
                "must have type 'object'",
            )
        out.append(Tool(tool["name"], str(tool.get("description", "")), sanitize_schema(schema)))
    return out


def _tool_choice(choice: Any, tools: list[Tool]) -> ToolChoice:
    if choice is None:
        return ToolChoice("auto")
    if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
        raise _error(400, "tool_choice: Input tag should be 'auto', 'any', 'tool' or 'none'")
    parallel = not choice.get("disable_parallel_tool_use", False)
    if choice["type"] == "tool":
        name = choice.get("name")
        if not isinstance(name, str):
            raise _error(400, "tool_choice.tool.name: Field required")
        if name not in {t.name for t in tools}:
            raise _error(400, f"tool_choice: tool {name!r} is not among the declared tools")
        return ToolChoice("tool", name, parallel)
    if choice["type"] in ("any", "tool") and not tools:
        raise _error(400, "tool_choice: requires tools to be declared")
    return ToolChoice(choice["type"], None, parallel)


# -- token accounting and caching ---------------------------------------------------------------
def _count(body: dict[str, Any]) -> int:
    messages = body.get("messages") or []
    return tk.anthropic_tokens(
        [m if isinstance(m.get("content"), str | list) else {**m, "content": ""} for m in messages],
        body.get("system"),
        body.get("tools"),
    )


def _iter_cacheable(body: dict[str, Any]) -> list[tuple[dict[str, Any] | str, int]]:
    """(block, tokens) in prefix order: tools -> system -> messages; overheads attach to blocks."""
    out: list[tuple[dict[str, Any] | str, int]] = []
    tools = body.get("tools") or []
    for i, tool in enumerate(tools):
        extra = tk.ANTHROPIC_TOOLS_OVERHEAD if i == 0 else 0
        out.append((tool, tk.anthropic_tool_tokens(tool) + extra))
    system = body.get("system")
    if isinstance(system, str) and system:
        out.append((system, tk.anthropic_block_tokens(system)))
    elif isinstance(system, list):
        out.extend((b, tk.anthropic_block_tokens(b)) for b in system)
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks = [content] if isinstance(content, str) else list(content or [])
        for j, block in enumerate(blocks):
            extra = tk.TOKENS_PER_MESSAGE if j == 0 else 0
            out.append((block, tk.anthropic_block_tokens(block) + extra))
    return out


def _count_breakpoints(body: dict[str, Any]) -> int:
    return sum(
        1
        for block, _ in _iter_cacheable(body)
        if isinstance(block, dict) and isinstance(block.get("cache_control"), dict)
    )


#: json.dumps(value, sort_keys=True) built once (json.dumps makes an encoder per call with it)
_SORTED = json.JSONEncoder(sort_keys=True)


def _segments(body: dict[str, Any]) -> list[Segment]:
    blocks = _iter_cacheable(body)
    top = body.get("cache_control")
    segments = []
    for i, (block, tokens) in enumerate(blocks):
        control = block.get("cache_control") if isinstance(block, dict) else None
        if control is None and isinstance(top, dict) and i == len(blocks) - 1:
            control = top  # automatic caching: the breakpoint goes on the last block
        ttl = None
        if isinstance(control, dict):
            ttl = "1h" if control.get("ttl") == "1h" else "5m"
        key = (
            _SORTED.encode({k: v for k, v in block.items() if k != "cache_control"})
            if isinstance(block, dict)
            else block
        )
        segments.append(Segment(key.encode(), tokens, ttl))
    return segments


# -- generation ---------------------------------------------------------------------------------
def _messages(
    sim: Simulator, request: SimRequest, key: str, headers: dict[str, str], version: ApiVersion
) -> SimResponse:
    bucket = key_id(key)
    body, turn = resolve_thread(sim, bucket, parse_json_body(request))
    conv, profile, total_input = _validate(body, version)
    thinking = thinking_config(body, int(body["max_tokens"]))
    previous_id = _previous_message_id(body, version)
    now = sim.clock.now()
    admission = sim.rate_limiter.admit(bucket, total_input, now)
    headers.update(_ratelimit_headers(sim, bucket, now))
    if not admission.allowed:
        wait = sim.clock.real(admission.retry_after)
        raise _error(
            429,
            f"This request would exceed your organization's rate limit of "
            f"{admission.limited.replace('_', ' ')} per minute. Please retry later.",
            headers=retry_after_headers(wait),
        )
    rng = sim.rng_for("anthropic", body)
    fault = sim.next_fault(rng, "anthropic")
    if fault is not None and fault.kind in ("429", "quota", "500", "503", "529"):
        status = {"429": 429, "quota": 429, "500": 500, "503": 503, "529": 529}[fault.kind]
        message = {
            429: "Number of requests has exceeded your rate limit. Please retry later.",
            500: "Internal server error",
            503: "Service unavailable",
            529: "Overloaded",
        }[status]
        extra = retry_after_headers(sim.clock.real(1.0)) if status == 429 else {}
        raise _error(status, message, headers=extra)
    cache = sim.anthropic_cache.lookup(
        profile.id + "|" + bucket, _segments(body), profile.cache_min_tokens, now
    )
    uncached = total_input - cache.read - cache.written
    sim.record_call("anthropic", total_input, cache.read)
    params = SamplingParams(
        temperature=1.0 if body.get("temperature") is None else float(body["temperature"]),
        top_p=body.get("top_p"),
        top_k=body.get("top_k"),
    )
    lm = model_for(profile.encoding)
    # drawn only when thinking is on: other requests keep their random stream as it was
    thought = think(lm, conv, thinking, rng) if thinking.budget else None
    thought_tokens = len(thought.tokens) if thought else 0
    with _strength.serving(profile.id):
        gen = generate(
            lm,
            conv,
            params,
            int(body["max_tokens"]) - thought_tokens,
            list(body.get("stop_sequences") or []),
            rng,
            # structured outputs are constrained decoding: the schema always holds
            sim.behaviour
            if conv.response_schema is None
            else Behaviour(prose_json_quirk_rate=sim.behaviour.prose_json_quirk_rate),
        )
    output_tokens = gen.output_tokens + thought_tokens
    message_id = sim.new_id("msg_01", rng)
    usage = {
        "input_tokens": uncached,
        "cache_creation_input_tokens": cache.written,
        "cache_read_input_tokens": cache.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache.written_5m,
            "ephemeral_1h_input_tokens": cache.written_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }
    content = _content(gen, rng, sim)
    if thought is not None:
        content.insert(0, thinking_block(thought, thinking))
    if turn is not None:
        turn.record(sim, message_id, content)
    ttft = time_to_first_token(profile.latency, uncached + cache.written, cache.read, rng)
    steps = decode_times(
        profile.latency,
        output_tokens,
        rng,
        decode_slowdown(fault),
    )

    def settle(delivered: int, complete: bool) -> None:
        sim.rate_limiter.spend_output(bucket, delivered, sim.clock.now())
        sim.billing.charge(
            message_id,
            "anthropic",
            profile.id,
            input_tokens=uncached,
            output_tokens=output_tokens if complete else delivered,
            write_5m=cache.written_5m,
            write_1h=cache.written_1h,
            read=cache.read,
            complete=complete,
        )

    reply: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": body["model"],  # a dated snapshot id comes back as sent
        "content": content,
        "stop_reason": _STOP[gen.stop],
        "stop_sequence": gen.stop_sequence,
        "usage": usage,
    }
    if version.diagnostics:
        fingerprint = Fingerprint.of(body, profile.id, total_input)
        reason = sim.cache_diagnostics.diagnose(previous_id, fingerprint, cache.read)
        sim.cache_diagnostics.remember(message_id, fingerprint)
        reply["diagnostics"] = None if reason is None else {"cache_miss_reason": reason}
    if body.get("stream"):
        timeline = sse_timeline(reply, gen, ttft, steps, thought)
        error_event = sse(
            "error",
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"},
                "request_id": headers["request-id"],
            },
        )
        pieces = sim.paced(timeline, settle, fault, error_event)
        return SimResponse(
            200,
            {
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                **headers,
            },
            pieces,
            streaming=True,
        )
    data = json.dumps(reply).encode()
    total = ttft + sum(steps)
    pieces = sim.paced(
        [(total, data, output_tokens)],
        settle,
        fault,
    )
    return SimResponse(200, {"content-type": "application/json", **headers}, pieces)


def _previous_message_id(body: dict[str, Any], version: ApiVersion) -> str | None:
    """``diagnostics.previous_message_id`` (2026-10-21 only), validated as the API does."""
    diagnostics = body.get("diagnostics")
    if diagnostics is None or not version.diagnostics:
        return None
    if not isinstance(diagnostics, dict) or set(diagnostics) - {"previous_message_id"}:
        raise _error(400, "diagnostics: Input should be an object with previous_message_id")
    previous = diagnostics.get("previous_message_id")
    if previous is not None and not isinstance(previous, str):
        raise _error(400, "diagnostics.previous_message_id: Input should be a valid string")
    return previous


def _content(gen: Generation, rng: np.random.Generator, sim: Simulator) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in gen.parts:
        if isinstance(part, TextOut):
            if part.text or not gen.parts[1:]:
                blocks.append({"type": "text", "text": part.text})
        else:
            try:
                args = json.loads(part.arguments)
            except ValueError:
                args = {}  # cut short by max_tokens: the real API returns what parsed so far
            blocks.append(
                {
                    "type": "tool_use",
                    "id": sim.new_id("toolu_01", rng),
                    "name": part.name,
                    "input": args,
                }
            )
    return blocks


#: rate-limit kind -> the prefix of its three response headers
_RATELIMIT_PREFIXES = {
    "requests": "anthropic-ratelimit-requests",
    "input_tokens": "anthropic-ratelimit-input-tokens",
    "output_tokens": "anthropic-ratelimit-output-tokens",
}


def _ratelimit_headers(sim: Simulator, bucket: str, now: float) -> dict[str, str]:
    out = {}
    wall = time.time()
    for kind, (limit, remaining, reset) in sim.rate_limiter.state(bucket, now).items():
        prefix = _RATELIMIT_PREFIXES[kind]
        out[f"{prefix}-limit"] = str(limit)
        out[f"{prefix}-remaining"] = str(remaining)
        out[f"{prefix}-reset"] = utc_stamp(wall + sim.clock.real(reset))
    return out


def _stop_sequences(stops: Any) -> None:
    """The real API's checks, in its words: a list of strings, none empty or only whitespace."""
    if stops is None:
        return
    if not isinstance(stops, list):
        raise _error(400, "stop_sequences: Input should be a valid list")
    for i, stop in enumerate(stops):
        if not isinstance(stop, str):
            raise _error(400, f"stop_sequences.{i}: Input should be a valid string")
        if not stop:
            raise _error(400, "stop_sequences: each stop sequence must be non-empty")
        if not stop.strip():
            raise _error(400, "stop_sequences: each stop sequence must contain non-whitespace")
