"""Exercise checkers: ``llmlab.check("01.softmax", softmax)`` runs hidden cases with feedback.

``python -m llmlab.check --list`` prints every exercise id with its signature.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from llmlab.check._registry import Case, Exercise, all_exercises, exercise, get
from llmlab.check._run import CheckResult, check, mine, run, solution_or_reference

if TYPE_CHECKING:
    from llmlab.check._checklist import ChecklistResult, checklist

#: imported on first use (PEP 562): the lab-10 checklist imports both SDKs and the reference
#: client, which a notebook's first cell should not pay for
_LAZY = {"ChecklistResult": "llmlab.check._checklist", "checklist": "llmlab.check._checklist"}

__all__ = [
    "Case",
    "CheckResult",
    "ChecklistResult",
    "Exercise",
    "all_exercises",
    "check",
    "checklist",
    "exercise",
    "get",
    "mine",
    "run",
    "solution_or_reference",
]


def __getattr__(name: str) -> Any:
    """The checklist names, imported when first asked for."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
