"""Exercise checkers: ``llmlab.check("01.softmax", softmax)`` runs hidden cases with feedback.

``python -m llmlab.check --list`` prints every exercise id with its signature.
"""

from __future__ import annotations

from llmlab.check._checklist import ChecklistResult, checklist
from llmlab.check._registry import Case, Exercise, all_exercises, exercise, get
from llmlab.check._run import CheckResult, check, mine, run, solution_or_reference

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
