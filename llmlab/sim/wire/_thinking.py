"""Anthropic extended thinking: the ``thinking`` request field, thinking blocks and their SSE.

``{"type": "enabled", "budget_tokens": N}`` (N >= 1024 and < ``max_tokens``) gives a thinking
block before the answer; ``"adaptive"`` lets the model pick a budget; ``"disabled"`` and
``"between_tools"`` give none. Thinking tokens are output tokens (billed, counted against
``max_tokens``, decoded at the model's speed). ``display: "omitted"`` returns an empty
``thinking`` with its signature. A request without ``thinking`` draws nothing extra from the
request's random generator, so its answer is what it always was.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmlab.sim.model._conversation import Conversation
from llmlab.sim.model._generate import TextOut, _free_text, _scripted
from llmlab.sim.model._lm import NGramModel
from llmlab.sim.model._sampling import SamplingParams
from llmlab.sim.wire._anthropic_request import bad

MIN_BUDGET = 1024
#: how long the simulated model thinks at most (a real one may use its whole budget)
_MAX_THOUGHT = 160
_TYPES = ("enabled", "disabled", "adaptive", "between_tools")


@dataclass(frozen=True)
class ThinkingConfig:
    """What a request asked for: a token budget (None: no thinking) and the display mode."""

    budget: int | None
    display: str = "summarized"


def thinking_config(body: dict[str, Any], max_tokens: int) -> ThinkingConfig:
    """Validate ``thinking`` as the API does; 400s name the field."""
    thinking = body.get("thinking")
    if thinking is None:
        return ThinkingConfig(None)
    if not isinstance(thinking, dict) or thinking.get("type") not in _TYPES:
        options = ", ".join(f"'{t}'" for t in _TYPES)
        raise bad(f"thinking.type: Input tag should be one of {options}")
    kind = thinking["type"]
    allowed = {"type"} | ({"budget_tokens", "display"} if kind == "enabled" else set())
    allowed |= {"display"} if kind == "adaptive" else set()
    for name in sorted(set(thinking) - allowed):
        raise bad(f"thinking.{kind}.{name}: Extra inputs are not permitted")
    display = thinking.get("display") or "summarized"
    if display not in ("summarized", "omitted"):
        raise bad(f"thinking.{kind}.display: Input should be 'summarized' or 'omitted'")
    if kind in ("disabled", "between_tools"):
        return ThinkingConfig(None)
    if kind == "adaptive":
        return ThinkingConfig(max(min(max_tokens // 2, 4 * _MAX_THOUGHT), 0), display)
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or isinstance(budget, bool):
        raise bad("thinking.enabled.budget_tokens: Field required (an integer)")
    if budget < MIN_BUDGET:
        raise bad(
            f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_BUDGET}"
        )
    if max_tokens <= budget:
        raise bad("max_tokens: must be greater than thinking.budget_tokens")
    if body.get("temperature") not in (None, 1, 1.0) or body.get("top_k") is not None:
        raise bad(
            "temperature may only be set to 1 and top_k may not be set when thinking is enabled"
        )
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        raise bad("tool_choice: Thinking may not be enabled when tool_choice forces tool use")
    return ThinkingConfig(budget, display)


def think(
    model: NGramModel,
    conv: Conversation,
    config: ThinkingConfig,
    rng: np.random.Generator,
) -> TextOut | None:
    """The thinking the model does before answering (None when it does not think)."""
    if not config.budget:
        return None
    limit = min(config.budget, _MAX_THOUGHT)
    ask = " ".join(conv.last_user_text.split())[:200] or "the request"
    opening, _ = _scripted(model, f"The user asks: {ask}. Let me work through this. ", limit)
    room = limit - len(opening.tokens)
    if room <= 0:
        return opening
    more, _, _, _ = _free_text(model, conv, SamplingParams(), room, [], rng, 0)
    return TextOut(opening.tokens + more.tokens)


def signature(thought: str) -> str:
    """An opaque, deterministic signature for a thinking block (base64, as the API's)."""
    digest = hashlib.sha512(b"llmlab-thinking|" + thought.encode()).digest()
    return base64.b64encode(digest * 2).decode()


def thinking_block(thought: TextOut, config: ThinkingConfig) -> dict[str, Any]:
    text = thought.text
    return {
        "type": "thinking",
        "thinking": "" if config.display == "omitted" else text,
        "signature": signature(text),
    }
