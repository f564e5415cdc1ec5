"""OpenAI Chat Completions request parsing: validation with the real API's error shapes.

Split from :mod:`._openai` (which answers); this module only reads the request body.
"""

from __future__ import annotations

import json
import re
from typing import Any

from llmlab.sim.model._catalog import ModelProfile
from llmlab.sim.model._conversation import Conversation, Part, Tool, ToolChoice, Turn
from llmlab.sim.wire._http import ApiError
from llmlab.sim.wire._validate import (
    OPENAI_CHAT_FIELDS,
    data_url_image,
    open_objects,
    sanitize_schema,
    unknown_fields,
)

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ROLES = ("system", "developer", "user", "assistant", "tool")


def tool_name(name: Any, where: str) -> str:
    """A function tool's name, or the 400 both OpenAI APIs give for one that breaks the pattern."""
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise _bad(
            f"Invalid '{where}': string does not match pattern. Expected a string that matches "
            "the pattern '^[a-zA-Z0-9_-]+$'.",
            where,
            "invalid_value",
        )
    return name


def _bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request_error", message, param=param, code=code)


def _not_found(model: str) -> ApiError:
    return ApiError(
        404,
        "invalid_request_error",
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
        param="model",
    )


def _model_entry(m: ModelProfile) -> dict[str, Any]:
    return {"id": m.id, "object": "model", "created": m.created, "owned_by": "system"}


# -- validation ---------------------------------------------------------------------------------
_PART_TYPES = ("text", "image_url", "input_audio", "file", "refusal")


def check_chat_fields(body: dict[str, Any]) -> None:
    """Unknown top-level fields, ``stream``'s type and ``logit_bias``'s keys and range."""
    for name in unknown_fields(body, OPENAI_CHAT_FIELDS):
        raise _bad(f"Unrecognized request argument supplied: {name}")
    for name in ("stream", "logprobs", "parallel_tool_calls", "store"):
        value = body.get(name)
        if value is not None and not isinstance(value, bool):
            raise _bad(
                f"Invalid type for '{name}': expected a boolean, but got "
                f"{_json_type(value)} instead.",
                name,
                "invalid_type",
            )
    bias = body.get("logit_bias")
    if bias is None:
        return
    if not isinstance(bias, dict):
        raise _bad(
            f"Invalid type for 'logit_bias': expected an object, but got {_json_type(bias)} "
            "instead.",
            "logit_bias",
            "invalid_type",
        )
    for token, value in bias.items():
        if not token.isdigit():
            raise _bad(
                f"Invalid key in 'logit_bias': {token}. Must be a valid token ID.",
                "logit_bias",
                "invalid_value",
            )
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not -100 <= value <= 100
        ):
            raise _bad(
                f"Invalid value for 'logit_bias': the bias for token {token} must be a number "
                "between -100 and 100.",
                "logit_bias",
                "invalid_value",
            )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else "null"


def _number(body: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(
            f"Invalid '{name}': must be a number between {low} and {high}.",
            name,
            "invalid_value" if isinstance(value, int | float) else "invalid_type",
        )
    return float(value)


#: fields a chat message may carry (any role); anything else is a 400, as on the real API
_MESSAGE_FIELDS = frozenset(
    {"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "audio", "function_call"}
    | {"annotations"}  # an assistant message echoed back as the SDK returned it
)


def _text_of(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for k, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if not isinstance(part, dict) or kind not in _PART_TYPES:
                supported = ", ".join(f"'{t}'" for t in _PART_TYPES)
                raise _bad(
                    f"Invalid value: {kind!r}. Supported values are: {supported}.",
                    f"{where}[{k}].type",
                    "invalid_value",
                )
            if kind == "image_url":
                _check_image_url(part.get("image_url"), f"{where}[{k}].image_url")
            if kind == "text" and not isinstance(part.get("text"), str):
                raise _bad(
                    f"Invalid type for '{where}[{k}].text': expected a string.",
                    f"{where}[{k}].text",
                    "invalid_type",
                )
            texts.append(str(part.get("text", "")))
        return "\n".join(texts)
    raise _bad(
        f"Invalid type for '{where}': expected a string or an array of content parts.",
        where,
        "invalid_type",
    )


def _check_image_url(image: Any, where: str) -> None:
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str):
        raise _bad(
            f"Missing required parameter: '{where}.url'.",
            f"{where}.url",
            "missing_required_parameter",
        )
    if data_url_image(url) is False:
        raise _bad(
            f"Invalid '{where}.url'. Expected a base64-encoded data URL with an image MIME "
            "type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got an invalid "
            "value.",
            f"{where}.url",
            "invalid_value",
        )


def _check_strict(schema: Any, param: str, name: str) -> None:
    """The 400 the real API gives for a strict schema with an open or partly optional object."""
    problem = open_objects(schema)
    if problem is not None:
        where, what = problem
        raise _bad(
            f"Invalid schema for {name}: In context={where}, {what}.",
            param,
            "invalid_value",
        )


def _conversation(body: dict[str, Any]) -> Conversation:
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise _bad(
            "Missing required parameter: 'messages'.", "messages", "missing_required_parameter"
        )
    if not messages:
        raise _bad(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but "
            "got an empty array instead.",
            "messages",
            "empty_array",
        )
    system: list[str] = []
    turns: list[Turn] = []
    pending: set[str] = set()
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise _bad(
                f"Invalid value for '{where}.role': expected one of {', '.join(_ROLES)}.",
                f"{where}.role",
                "invalid_value",
            )
        role = m["role"]
        unknown = sorted(set(m) - _MESSAGE_FIELDS)
        if unknown:
            raise _bad(
                f"Additional properties are not allowed ({unknown[0]!r} was unexpected) - "
                f"'{where}'",
                where,
                "invalid_value",
            )
        if m.get("content") is None and not (role == "assistant" and m.get("tool_calls")):
            # only an assistant turn that calls tools may leave content out (or null)
            if "content" not in m:
                raise _bad(
                    f"Missing required parameter: '{where}.content'.",
                    f"{where}.content",
                    "missing_required_parameter",
                )
            raise _bad(
                f"Invalid type for '{where}.content': expected one of a string or array of "
                "objects, but got null instead.",
                f"{where}.content",
                "invalid_type",
            )
        text = _text_of(m.get("content"), f"{where}.content")
        if role != "tool" and pending:
            raise _bad(
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not "
                f"have response messages: {', '.join(sorted(pending))}",
                "messages",
            )
        if role in ("system", "developer"):
            system.append(text)
        elif role == "user":
            turns.append(Turn("user", [Part("text", text=text)]))
        elif role == "assistant":
            parts = [Part("text", text=text)] if text else []
            calls = m.get("tool_calls") or []
            if not isinstance(calls, list):
                raise _bad(
                    f"Invalid type for '{where}.tool_calls': expected an array.",
                    f"{where}.tool_calls",
                    "invalid_type",
                )
            for j, call in enumerate(calls):
                _check_tool_call(call, f"{where}.tool_calls[{j}]")
                fn = call["function"]
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    args = {}
                parts.append(
                    Part(
                        "tool_call",
                        id=str(call.get("id")),
                        name=str(fn.get("name")),
                        input=args if isinstance(args, dict) else {},
                    )
                )
                pending.add(str(call.get("id")))
            turns.append(Turn("assistant", parts))
        else:
            call_id = m.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in pending:
                raise _bad(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    f"{where}.role",
                )
            pending.discard(call_id)
            part = Part(
                "tool_result",
                text=text,
                id=str(call_id),
                is_error=bool(re.match(r"\s*(error|invalid)", text, re.IGNORECASE)),
            )
            if turns and turns[-1].role == "user" and turns[-1].parts[0].kind == "tool_result":
                turns[-1].parts.append(part)
            else:
                turns.append(Turn("user", [part]))
    tools = _tools(body.get("tools"))
    conv = Conversation(
        system="\n".join(system), turns=turns, tools=tools, tool_choice=_tool_choice(body, tools)
    )
    fmt = body.get("response_format")
    if fmt is not None:
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind == "json_object":
            if "json" not in json.dumps(messages).lower():
                raise _bad(
                    "'messages' must contain the word 'json' in some form, to use "
                    "'response_format' of type 'json_object'.",
                    "messages",
                )
            conv.json_mode = True
        elif kind == "json_schema":
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise _bad(
                    "Missing required parameter: 'response_format.json_schema.name'.",
                    "response_format.json_schema.name",
                    "missing_required_parameter",
                )
            schema = spec.get("schema") or {"type": "object", "properties": {}}
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise _bad(
                    "Invalid schema for response_format: the root must be an object.",
                    "response_format",
                )
            if spec.get("strict") is True:
                _check_strict(schema, "response_format", f"response_format '{spec['name']}'")
            conv.response_schema = sanitize_schema(schema)
        elif kind != "text":
            raise _bad(
                "Invalid value for 'response_format.type'.", "response_format.type", "invalid_value"
            )
    return conv


def _check_tool_call(call: Any, where: str) -> None:
    """The 400 the real API gives for an assistant tool call that is not well-formed."""
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(call, dict) or call.get("type") != "function" or not isinstance(fn, dict):
        raise _bad(
            f"Missing required parameter: '{where}.function'.",
            f"{where}.function",
            "missing_required_parameter",
        )
    for name, value in (("id", call.get("id")), ("function.name", fn.get("name"))):
        if not isinstance(value, str):
            raise _bad(
                f"Invalid type for '{where}.{name}': expected a string.",
                f"{where}.{name}",
                "invalid_type",
            )
    if not isinstance(fn.get("arguments"), str):
        raise _bad(
            f"Invalid type for '{where}.function.arguments': expected a string.",
            f"{where}.function.arguments",
            "invalid_type",
        )


def _tools(tools: Any) -> list[Tool]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise _bad("Invalid type for 'tools': expected an array.", "tools", "invalid_type")
    out = []
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or tool.get("type") != "function":
            raise _bad(
                f"Missing required parameter: 'tools[{i}].function'.",
                f"tools[{i}].function",
                "missing_required_parameter",
            )
        name = tool_name(fn.get("name"), f"tools[{i}].function.name")
        params = fn.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(params, dict) or params.get("type", "object") != "object":
            raise _bad(
                f"Invalid schema for function '{name}': schema must be a JSON Schema of "
                "'type: \"object\"'.",
                f"tools[{i}].function.parameters",
                "invalid_function_parameters",
            )
        if fn.get("strict") is True:
            _check_strict(params, f"tools[{i}].function.parameters", f"function '{name}'")
        out.append(Tool(name, str(fn.get("description", "")), sanitize_schema(params)))
    return out


def _tool_choice(body: dict[str, Any], tools: list[Tool]) -> ToolChoice:
    choice = body.get("tool_choice")
    parallel = body.get("parallel_tool_calls", True) is not False
    if choice is None or choice == "auto":
        return ToolChoice("auto" if tools else "none", None, parallel)
    if choice in ("none", "required"):
        if choice == "required" and not tools:
            raise _bad(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when "
                "'tools' are specified.",
                "tool_choice",
            )
        return ToolChoice("none" if choice == "none" else "any", None, parallel)
    if isinstance(choice, dict) and choice.get("type") == "function":
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(name, str):
            raise _bad(
                "Missing required parameter: 'tool_choice.function.name'.",
                "tool_choice.function.name",
                "missing_required_parameter",
            )
        if name not in {t.name for t in tools}:
            raise _bad(
                f"Invalid value for 'tool_choice': function {name!r} is not among tools.",
                "tool_choice",
            )
        return ToolChoice("tool", name, parallel)
    raise _bad("Invalid value for 'tool_choice'.", "tool_choice", "invalid_value")
