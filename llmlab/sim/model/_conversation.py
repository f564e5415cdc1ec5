"""A provider-neutral view of a request, so one runtime can answer both wire formats."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant"]
# a user turn that only feeds a validation error back (instructor's JSON re-ask and the like)
_REASK = re.compile(
    r"validation error|fix the errors|correct your json|failed validation", re.IGNORECASE
)


@dataclass
class Part:
    """One content block: text, an image, a tool call the assistant made, or a tool's result."""

    kind: Literal["text", "image", "tool_call", "tool_result"]
    text: str = ""
    id: str = ""
    name: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    is_error: bool = False


@dataclass
class Turn:
    role: Role
    parts: list[Part]

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.parts if p.kind in ("text", "tool_result"))


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class ToolChoice:
    mode: Literal["auto", "any", "tool", "none"] = "auto"
    name: str | None = None
    parallel: bool = True


@dataclass
class Conversation:
    system: str
    turns: list[Turn]
    tools: list[Tool] = field(default_factory=list)
    tool_choice: ToolChoice = ToolChoice()
    response_schema: dict[str, Any] | None = None  # OpenAI json_schema response_format
    json_mode: bool = False  # OpenAI json_object response_format
    prefill: str = ""  # Anthropic: text of a trailing assistant turn the reply continues

    @property
    def last_user_text(self) -> str:
        """The latest user text that states the task: a validation re-ask is skipped, so a
        corrected answer is still about the original request (not about the error message)."""
        reask = ""
        for turn in reversed(self.turns):
            if turn.role == "user":
                texts = [p.text for p in turn.parts if p.kind == "text"]
                if texts:
                    joined = "\n".join(texts)
                    if not _is_reask(joined):
                        return joined
                    reask = reask or joined
        return reask

    @property
    def all_text(self) -> str:
        return "\n".join([self.system, *(t.text for t in self.turns)])

    def last_tool_results(self) -> list[Part]:
        """Tool results in the final user turn (what the model is answering now)."""
        if not self.turns or self.turns[-1].role != "user":
            return []
        return [p for p in self.turns[-1].parts if p.kind == "tool_result"]


def _is_reask(text: str) -> bool:
    """Whether ``text`` is a validation re-ask (memoised for texts of a few KB: every request
    asks this of the same turns several times)."""
    return _REASK.search(text) is not None if len(text) > 4096 else _reask_memo(text)


@functools.lru_cache(maxsize=512)
def _reask_memo(text: str) -> bool:
    return _REASK.search(text) is not None
