"""Running a checker: friendly feedback, 'not attempted yet' for stubs, reference fall-back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from llmlab.check._registry import Case, get

T = TypeVar("T")
_MAX_SHOWN = 3


@dataclass
class CheckResult:
    """What :func:`check` found. ``passed`` is True only when every hidden case passed."""

    exercise_id: str
    passed: bool
    attempted: bool
    cases: int = 0
    failures: list[Case] = field(default_factory=list)
    error: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        """Show nothing: :func:`check` already printed the feedback (no duplicate output)."""

    def report(self) -> str:
        if not self.attempted:
            return (
                f"[{self.exercise_id}] not attempted yet: replace the stub "
                "(`raise NotImplementedError`) with your code, then run this cell again."
            )
        if self.passed:
            return f"[{self.exercise_id}] passed all {self.cases} hidden cases."
        lines = [
            f"[{self.exercise_id}] {len(self.failures)} of {self.cases} hidden cases failed."
            if not self.error
            else f"[{self.exercise_id}] {self.error}"
        ]
        for case in self.failures[:_MAX_SHOWN]:
            lines.append(f"  - on {case.input}: expected {case.expected}, got {case.got}")
            if case.hint:
                lines.append(f"    hint: {case.hint}")
        if len(self.failures) > _MAX_SHOWN:
            lines.append(f"  ... and {len(self.failures) - _MAX_SHOWN} more")
        return "\n".join(lines)


_results: dict[str, CheckResult] = {}


def run(exercise_id: str, candidate: Any) -> CheckResult:
    """Run the hidden cases without printing (tests use this)."""
    ex = get(exercise_id)
    result = CheckResult(exercise_id, passed=False, attempted=True)
    try:
        for case in ex.checker(candidate):
            result.cases += 1
            if not case.ok:
                result.failures.append(case)
    except NotImplementedError:
        result.attempted = False
    except Exception as exc:  # a learner's bug is feedback, not a crash
        result.error = f"your code raised {type(exc).__name__}: {exc}"
    result.passed = result.attempted and not result.failures and not result.error
    _results[exercise_id] = result
    return result


def check(exercise_id: str, candidate: Any) -> CheckResult:
    """Run exercise ``exercise_id``'s hidden cases against ``candidate`` and print feedback."""
    result = run(exercise_id, candidate)
    print(result.report())
    return result


def solution_or_reference(exercise_id: str, candidate: T) -> T:
    """The learner's ``candidate`` if it passed its check, else llmlab's reference (with a note).

    Later cells call this so an unsolved notebook still runs top to bottom.
    """
    result = _results.get(exercise_id) or run(exercise_id, candidate)
    if result.passed:
        return candidate
    reference: T = get(exercise_id).reference
    print(f"(note: using llmlab's reference for {exercise_id} until yours passes its check)")
    return reference
