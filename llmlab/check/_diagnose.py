"""Turning one case's answer into a verdict whose hint names the mistake actually made.

Each checker lists plausible wrong versions of the exercise ("mistakes"), most specific first.
When the learner's answer equals what a mistake produces on that case, the case's hint is that
mistake's hint (and the case is shown before generic ones); otherwise it is the rule the case
probes. Reproducing the learner's output is a far stronger signal than guessing from the input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from llmlab.check._registry import Case
from llmlab.check._sandbox import Raised

Mistake = tuple[str, Callable[[], Any]]  # (hint, what that mistake returns on this case)


def verdict(
    label: str,
    got: Any,
    want: Any,
    *,
    same: Callable[[Any, Any], bool],
    show: Callable[[Any], str],
    rule: str,
    mistakes: Sequence[Mistake] = (),
) -> Case:
    """The :class:`Case` for ``got`` against ``want``; the hint from the first matching mistake."""
    if isinstance(got, Raised):
        return Case(False, label, show(want), str(got), rule)
    if same(got, want):
        return Case(True, label, show(want), show(got))
    for hint, produce in mistakes:
        try:
            wrong = produce()
        except Exception:  # a mistake that crashes on this input cannot be what happened
            continue
        if same(got, wrong):
            return Case(False, label, show(want), show(got), hint, diagnosed=True)
    return Case(False, label, show(want), show(got), rule)


def unchanged(case: Case, before: Any, after: Any, hint: str) -> Case:
    """``case``, failed if the learner's code changed an argument it was handed."""
    if before == after or not case.ok:
        return case
    return Case(
        False,
        f"{case.input}: the list you were given",
        f"left as it was: {before!r}",
        f"changed to {after!r}",
        hint,
        diagnosed=True,
    )
