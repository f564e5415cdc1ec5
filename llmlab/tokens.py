"""Token counting: OpenAI's real tokenizers via tiktoken, and a documented stand-in for Anthropic.

OpenAI chat accounting follows the cookbook rule for the gpt-4o / gpt-4.1 family: 3 tokens per
message, the tokens of every field's value (the role too), 1 more when ``name`` is present, and 3
priming the reply. Anthropic's tokenizer is not public: the simulator counts Claude models with
``cl100k_base`` plus fixed block overheads (below), so an estimate made with
:func:`anthropic_tokens` equals what the simulated ``count_tokens`` and ``usage`` report.
Real Claude counts differ.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import tiktoken

from llmlab._offline import ensure_tiktoken_offline

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
ANTHROPIC_ENCODING = "cl100k_base"
ANTHROPIC_TOOLS_OVERHEAD = 300  # the tool-use system prompt a real Claude request carries
ANTHROPIC_BLOCK_OVERHEAD = 4  # framing of a tool_use / tool_result block
ANTHROPIC_IMAGE_TOKENS = 1600  # a stand-in for one image (real: width*height/750)


@functools.cache
def encoding(name: str) -> tiktoken.Encoding:
    ensure_tiktoken_offline()
    return tiktoken.get_encoding(name)


@functools.cache
def encoding_for(model: str) -> tiktoken.Encoding:
    """The tokenizer for an OpenAI model id, or the documented stand-in for a Claude model."""
    ensure_tiktoken_offline()
    if model.startswith("claude"):
        return encoding(ANTHROPIC_ENCODING)
    try:
        return tiktoken.encoding_for_model(model)
    except KeyError:
        return encoding("o200k_base")


def count(text: str, model: str = "gpt-4o") -> int:
    """Tokens in ``text`` for ``model``'s tokenizer."""
    return _n(encoding_for(model), text)


_LONG = 4096  # characters: texts this long get their own, smaller memo


@functools.lru_cache(maxsize=256)
def _n_long(name: str, text: str) -> int:
    return len(encoding(name).encode(text, disallowed_special=()))


@functools.lru_cache(maxsize=4096)
def _n_short(name: str, text: str) -> int:
    return len(encoding(name).encode(text, disallowed_special=()))


@functools.lru_cache(maxsize=8)
def _ids_long(name: str, text: str) -> tuple[int, ...]:
    return tuple(encoding(name).encode(text, disallowed_special=()))


def _n(enc: tiktoken.Encoding, text: str) -> int:
    """len(enc.encode(text)), memoised by text: the simulator counts the same prompt (a 100k-token
    one, or the same short system prompt and tool schemas on every call) several times per
    request and again on the next; the count is a pure function of the text."""
    if len(text) < _LONG:
        return _n_short(enc.name, text)
    return _n_long(enc.name, text)


def token_ids(text: str, encoding_name: str) -> list[int]:
    """Token ids of ``text`` (memoised for long texts, like the counts)."""
    if len(text) < _LONG:
        return encoding(encoding_name).encode(text, disallowed_special=())
    return list(_ids_long(encoding_name, text))


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: count their text
        return "".join(str(p.get("text") or "") for p in value if isinstance(p, Mapping))
    return json.dumps(value) if value is not None else ""


def chat_tokens(messages: Iterable[Mapping[str, Any]], model: str = "gpt-4o") -> int:
    """Prompt tokens of a Chat Completions request, by the cookbook's rule (see module doc)."""
    enc = encoding_for(model)
    total = REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            if key == "tool_calls" and isinstance(value, list):
                for call in value:
                    fn = call.get("function", {})
                    total += _n(enc, fn.get("name", "") + fn.get("arguments", ""))
                continue
            total += _n(enc, _value_text(value))
            if key == "name":
                total += TOKENS_PER_NAME
    return total


def chat_tools_tokens(tools: Sequence[Mapping[str, Any]] | None, model: str = "gpt-4o") -> int:
    """Tokens the simulator charges for ``tools`` definitions (their JSON, no extra framing)."""
    if not tools:
        return 0
    enc = encoding_for(model)
    return sum(_n(enc, json.dumps(t, sort_keys=True)) for t in tools)


def anthropic_block_tokens(block: Mapping[str, Any] | str) -> int:
    """Stand-in tokens of one Anthropic content block."""
    enc = encoding(ANTHROPIC_ENCODING)
    if isinstance(block, str):
        return _n(enc, block)
    kind = block.get("type")
    if kind == "text":
        return _n(enc, str(block.get("text", "")))
    if kind == "image" or kind == "document":
        return ANTHROPIC_IMAGE_TOKENS
    if kind == "tool_use":
        payload = str(block.get("name", "")) + json.dumps(block.get("input", {}), sort_keys=True)
        return ANTHROPIC_BLOCK_OVERHEAD + _n(enc, payload)
    if kind == "tool_result":
        content = block.get("content", "")
        inner = (
            sum(anthropic_block_tokens(b) for b in content)
            if isinstance(content, list)
            else anthropic_block_tokens(str(content))
        )
        return ANTHROPIC_BLOCK_OVERHEAD + inner
    return _n(enc, json.dumps(block, sort_keys=True))


def anthropic_tool_tokens(tool: Mapping[str, Any]) -> int:
    clean = {k: v for k, v in tool.items() if k != "cache_control"}
    return _n(encoding(ANTHROPIC_ENCODING), json.dumps(clean, sort_keys=True))


def anthropic_tokens(
    messages: Sequence[Mapping[str, Any]],
    system: Any = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """Input tokens the simulated Messages API reports for this request (stand-in tokenizer)."""
    total = REPLY_PRIMING
    if tools:
        total += ANTHROPIC_TOOLS_OVERHEAD + sum(anthropic_tool_tokens(t) for t in tools)
    if isinstance(system, str):
        total += anthropic_block_tokens(system)
    elif isinstance(system, list):
        total += sum(anthropic_block_tokens(b) for b in system)
    for message in messages:
        total += TOKENS_PER_MESSAGE
        content = message.get("content", "")
        if isinstance(content, str):
            total += anthropic_block_tokens(content)
        else:
            total += sum(anthropic_block_tokens(b) for b in content)
    return total


def _parts_text(content: Any) -> str:
    """A Responses message's or output's text: a string, or its content parts one per line."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("refusal" if p.get("type") == "refusal" else "text", "") or "")
            for p in content
            if isinstance(p, Mapping)
        )
    return ""


def responses_tokens(
    input: str | Sequence[Mapping[str, Any]],
    instructions: str | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    model: str = "gpt-4o",
) -> int:
    """Input tokens of a Responses API request, counted as the simulator bills it.

    The chat rule on items: ``instructions`` and each message item are a message (3 framing +
    role + text); a ``function_call`` item is 3 + its name and arguments, a
    ``function_call_output`` item 3 + its call id and output; 3 prime the reply. A string
    ``input`` is one user message; each tool is its JSON as sent (None fields dropped).
    """
    enc = encoding_for(model)
    total = REPLY_PRIMING
    if instructions:
        total += TOKENS_PER_MESSAGE + _n(enc, "developer") + _n(enc, instructions)
    items: Sequence[Mapping[str, Any]] = (
        [{"role": "user", "content": input}] if isinstance(input, str) else input
    )
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            role = str(item.get("role", ""))
            total += TOKENS_PER_MESSAGE + _n(enc, role) + _n(enc, _parts_text(item.get("content")))
        elif kind == "function_call":
            payload = str(item.get("name", "")) + str(item.get("arguments", ""))
            total += TOKENS_PER_MESSAGE + _n(enc, payload)
        elif kind == "function_call_output":
            payload = str(item.get("call_id", "")) + _parts_text(item.get("output"))
            total += TOKENS_PER_MESSAGE + _n(enc, payload)
    for tool in tools or ():
        sent = {k: v for k, v in tool.items() if v is not None}
        total += len(enc.encode(json.dumps(sent, sort_keys=True), disallowed_special=()))
    return total
