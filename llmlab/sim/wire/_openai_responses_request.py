"""Responses API request parsing: ``input`` items, tools, ``tool_choice`` and ``text.format``.

The Responses API speaks to the same model as Chat Completions, so a valid request is
translated to the equivalent Chat Completions body (instructions as a developer message,
``function_call`` items as assistant ``tool_calls``, ``function_call_output`` items as tool
messages). Prompt tokens, prefix caching and generation then follow the Chat Completions rules
exactly. Validation happens here, first, so every 400 names the Responses parameter
(``input[2].call_id``, ``tools[0].name``, ``text.format.name``), as the real API does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from llmlab.sim.wire._http import ApiError
from llmlab.sim.wire._openai_request import _bad, tool_name

_ROLES = ("user", "system", "developer", "assistant")
_INPUT_PARTS = ("input_text", "input_image", "input_file", "input_audio")
_OUTPUT_PARTS = ("output_text", "refusal")
#: body fields of POST /v1/responses (and /input_tokens) in openai 2.54 and 3.3; others are a 400
KNOWN_FIELDS = frozenset(
    [
        "background",
        "context_management",
        "conversation",
        "include",
        "input",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "metadata",
        "model",
        "moderation",
        "parallel_tool_calls",
        "personality",
        "previous_response_id",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning",
        "safety_identifier",
        "service_tier",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
        "verbosity",
    ]
)


@dataclass
class ParsedRequest:
    """A validated Responses request: its Chat Completions twin and what the response echoes."""

    chat: dict[str, Any]  # messages, tools, tool_choice, response_format, parallel_tool_calls
    items: list[dict[str, Any]]  # this request's input items (a string input becomes one)
    tools: list[dict[str, Any]] = field(default_factory=list)  # echoed, defaults filled in
    tool_choice: Any = "auto"
    text: dict[str, Any] = field(default_factory=dict)


def unsupported(message: str, param: str) -> ApiError:
    """A 400 for a real API feature the simulator does not model (named as such)."""
    return ApiError(
        400, "invalid_request_error", message, param=param, code="unsupported_parameter"
    )


def input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """``input`` as a list of items: a string is one user message."""
    raw = body.get("input")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": raw}]}
        ]
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise _bad(
            "Invalid type for 'input': expected a string or an array of input items.",
            "input",
            "invalid_type",
        )
    return list(raw)


def _content_text(item: dict[str, Any], where: str) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad(
            f"Invalid type for '{where}.content': expected a string or an array of content parts.",
            f"{where}.content",
            "invalid_type",
        )
    allowed = _OUTPUT_PARTS if item.get("role") == "assistant" else _INPUT_PARTS
    texts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            names = ", ".join(f"'{a}'" for a in allowed)
            raise _bad(
                f"Invalid value: {kind!r}. Supported values are: {names}.",
                f"{where}.content[{j}].type",
                "invalid_value",
            )
        assert isinstance(part, dict)
        texts.append(str(part.get("refusal" if kind == "refusal" else "text", "") or ""))
    return "\n".join(texts)


def _output_text(output: Any, where: str) -> str:
    """A function_call_output's ``output``: a string, or input_text parts."""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "\n".join(str(p.get("text", "")) for p in output if isinstance(p, dict))
    raise _bad(
        f"Invalid type for '{where}.output': expected a string or an array of content parts.",
        f"{where}.output",
        "invalid_type",
    )


def _string(item: dict[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str):
        raise _bad(
            f"Missing required parameter: '{where}.{name}'."
            if value is None
            else f"Invalid type for '{where}.{name}': expected a string.",
            f"{where}.{name}",
            "missing_required_parameter" if value is None else "invalid_type",
        )
    return value


def chat_messages(
    instructions: str | None, history: list[dict[str, Any]], new: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The Chat Completions messages for instructions + stored history + this input.

    Validates the new items (history was validated when it was stored), including the pairing
    of ``function_call`` and ``function_call_output`` items by ``call_id``.
    """
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "developer", "content": instructions})
    calls: dict[str, int] = {}  # call_id -> index of the assistant message holding it
    answered: set[str] = set()
    offset = len(history)
    for n, item in enumerate([*history, *new]):
        where = f"input[{n - offset}]"
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in _ROLES:
                raise _bad(
                    f"Invalid value: {role!r}. Supported values are: 'user', 'system', "
                    "'developer', and 'assistant'.",
                    f"{where}.role",
                    "invalid_value",
                )
            text = _content_text(item, where)
            last = messages[-1] if messages else None
            if role == "assistant" and last is not None and last["role"] == "assistant":
                last["content"] = (last.get("content") or "") + text  # one assistant turn
            else:
                messages.append({"role": role, "content": text})
        elif kind == "function_call":
            call_id = _string(item, "call_id", where)
            call = {
                "id": call_id,
                "type": "function",
                "function": {
                    "name": _string(item, "name", where),
                    "arguments": _string(item, "arguments", where),
                },
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            calls[call_id] = len(messages) - 1
        elif kind == "function_call_output":
            call_id = _string(item, "call_id", where)
            if call_id not in calls:
                raise _bad(
                    f"No tool call found for function call output with call_id {call_id}.",
                    "input",
                )
            answered.add(call_id)
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": _output_text(item.get("output"), where),
                }
            )
        elif kind == "reasoning":
            continue  # the simulated models do not reason; a reasoning item carries nothing
        else:
            raise unsupported(
                f"Input items of type {kind!r} are not supported by the llmlab simulator "
                "(message, function_call and function_call_output are).",
                f"{where}.type",
            )
    for call_id in calls:
        if call_id not in answered:
            raise _bad(f"No tool output found for function call {call_id}.", "input")
    return _ordered(messages)


def _ordered(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool messages right after the assistant message that called them (Chat's order)."""
    out: list[dict[str, Any]] = []
    waiting: list[dict[str, Any]] = []  # messages that arrived while tool results were due
    due: set[str] = set()
    for m in messages:
        if m["role"] == "tool" and m["tool_call_id"] in due:
            out.append(m)
            due.discard(m["tool_call_id"])
            if not due:
                out += waiting
                waiting = []
            continue
        if due:
            waiting.append(m)
            continue
        out.append(m)
        due = {c["id"] for c in m.get("tool_calls") or []}
    return out + waiting


def tools(body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(tools as the response echoes them, the same tools in Chat Completions shape)."""
    raw = body.get("tools")
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        raise _bad("Invalid type for 'tools': expected an array.", "tools", "invalid_type")
    echo, chat = [], []
    for i, tool in enumerate(raw):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            raise unsupported(
                f"Tool type {kind!r} is not supported by the llmlab simulator (function tools "
                "only: hosted tools such as web_search run on OpenAI's side).",
                f"tools[{i}].type",
            )
        assert isinstance(tool, dict)
        name = tool_name(tool.get("name"), f"tools[{i}].name")
        params = tool.get("parameters")
        params = {"type": "object", "properties": {}} if params is None else params
        if not isinstance(params, dict) or params.get("type", "object") != "object":
            raise _bad(
                f"Invalid schema for function '{name}': schema must be a JSON Schema of "
                "'type: \"object\"'.",
                f"tools[{i}].parameters",
                "invalid_function_parameters",
            )
        strict = tool.get("strict")
        normalize = strict is None and _normalizable(params)
        strict = normalize if strict is None else bool(strict)
        description = tool.get("description")
        echo.append(
            {
                "type": "function",
                "name": name,
                "description": description,
                "parameters": params,
                "strict": strict,
            }
        )
        # an omitted strict that can be strict is normalized, as the API does, before the
        # strict-schema rules (additionalProperties false, every property required) apply
        fn: dict[str, Any] = {
            "name": name,
            "parameters": _normalized(params) if normalize else params,
            "strict": strict,
        }
        if description:
            fn["description"] = description
        chat.append({"type": "function", "function": fn})
    return echo, chat


def _normalized(schema: Any) -> Any:
    """``schema`` in strict form: objects close (additionalProperties false), all required."""
    if isinstance(schema, list):
        return [_normalized(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _normalized(v) for k, v in schema.items()}
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
        if isinstance(out.get("properties"), dict):
            out["required"] = list(out["properties"])
    return out


def _normalizable(schema: Any) -> bool:
    """Can an omitted ``strict`` become strict mode? (OpenAI's guide: Responses tries to
    normalize the schema into strict mode and falls back to non-strict when it cannot.)

    The simulator's rule: yes unless some object allows additional properties.
    """
    if isinstance(schema, dict):
        extra = schema.get("additionalProperties", False)
        return extra is False and all(_normalizable(v) for v in schema.values())
    if isinstance(schema, list):
        return all(_normalizable(v) for v in schema)
    return True


def tool_choice(body: dict[str, Any], names: set[str]) -> tuple[Any, Any]:
    """(``tool_choice`` as the response echoes it, the Chat Completions equivalent)."""
    choice = body.get("tool_choice")
    if choice is None:
        return "auto", None
    if choice in ("auto", "none", "required"):
        if choice == "required" and not names:
            raise _bad(
                "Tool choice 'required' must be specified with 'tools' parameter.", "tool_choice"
            )
        return choice, choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = choice.get("name")
        if not isinstance(name, str) or name not in names:
            raise _bad(
                f"Tool choice 'function' with name {name!r} not found in 'tools' parameter.",
                "tool_choice",
            )
        return {"type": "function", "name": name}, {"type": "function", "function": {"name": name}}
    raise _bad(
        "Invalid value for 'tool_choice': expected 'auto', 'none', 'required' or "
        "{'type': 'function', 'name': ...}.",
        "tool_choice",
        "invalid_value",
    )


def text_format(body: dict[str, Any], prompt_text: str) -> tuple[dict[str, Any], Any]:
    """(``text`` as the response echoes it, the Chat Completions ``response_format`` or None)."""
    text = body.get("text")
    if text is None:
        text = {}
    if not isinstance(text, dict):
        raise _bad("Invalid type for 'text': expected an object.", "text", "invalid_type")
    fmt = text.get("format") or {"type": "text"}
    if not isinstance(fmt, dict):
        raise _bad(
            "Invalid type for 'text.format': expected an object.", "text.format", "invalid_type"
        )
    kind = fmt.get("type")
    echo = {"format": {"type": "text"}, "verbosity": text.get("verbosity") or "medium"}
    if kind == "text":
        return echo, None
    if kind == "json_object":
        if "json" not in prompt_text.lower():
            raise _bad(
                "Response input messages must contain the word 'json' in some form to use "
                "'text.format' of type 'json_object'.",
                "input",
            )
        echo["format"] = {"type": "json_object"}
        return echo, {"type": "json_object"}
    if kind == "json_schema":
        name = fmt.get("name")
        if not isinstance(name, str):
            raise _bad(
                "Missing required parameter: 'text.format.name'.",
                "text.format.name",
                "missing_required_parameter",
            )
        schema = fmt.get("schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise _bad(
                f"Invalid schema for response_format '{name}': schema must be a JSON Schema "
                "of 'type: \"object\"'.",
                "text.format.schema",
                "invalid_json_schema",
            )
        strict = bool(fmt.get("strict"))
        echo["format"] = {
            "type": "json_schema",
            "name": name,
            "description": fmt.get("description"),
            "schema": schema,
            "strict": strict,
        }
        return echo, {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": strict},
        }
    raise _bad(
        f"Invalid value: {kind!r}. Supported values are: 'text', 'json_object', and 'json_schema'.",
        "text.format.type",
        "invalid_value",
    )


def parse(body: dict[str, Any], history: list[dict[str, Any]]) -> ParsedRequest:
    """Validate a create (or input-token count) body against the stored ``history``."""
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        raise _bad(f"Unknown parameter: '{unknown[0]}'.", unknown[0], "unknown_parameter")
    for name in ("conversation", "prompt"):
        if body.get(name) is not None:
            raise unsupported(
                f"'{name}' is not supported by the llmlab simulator; send 'input' (and "
                "'previous_response_id' to continue).",
                name,
            )
    if body.get("background"):
        raise unsupported(
            "Background responses are not supported by the llmlab simulator.", "background"
        )
    typed: tuple[tuple[str, type, str], ...] = (
        ("stream", bool, "a boolean"),
        ("parallel_tool_calls", bool, "a boolean"),
        ("store", bool, "a boolean"),
        ("metadata", dict, "an object"),
        ("previous_response_id", str, "a string"),
    )
    for name, kind, said in typed:
        if body.get(name) is not None and not isinstance(body[name], kind):
            raise _bad(f"Invalid type for '{name}': expected {said}.", name, "invalid_type")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise _bad(
            "Invalid type for 'instructions': expected a string.", "instructions", "invalid_type"
        )
    items = input_items(body)
    if not items and not history:
        raise _bad("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    messages = chat_messages(instructions, history, items)
    echo_tools, chat_tools = tools(body)
    choice_echo, chat_choice = tool_choice(body, {t["name"] for t in echo_tools})
    text_echo, response_format = text_format(body, json.dumps(messages))
    chat: dict[str, Any] = {"messages": messages}
    if chat_tools:
        chat["tools"] = chat_tools
    if chat_choice is not None:
        chat["tool_choice"] = chat_choice
    if response_format is not None:
        chat["response_format"] = response_format
    if body.get("parallel_tool_calls") is False:
        chat["parallel_tool_calls"] = False
    return ParsedRequest(chat, items, echo_tools, choice_echo, text_echo)
