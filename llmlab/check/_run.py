"""Running a checker: friendly feedback, 'not attempted yet' for stubs, reference fall-back."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypeVar

from llmlab.check import _persist
from llmlab.check._registry import _REGISTRY, Case, _load, get
from llmlab.check._sandbox import learner_line_of_traceback, shorten, supervise
from llmlab.check._stub import unwritten

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
    output: str = ""  # what the learner's code printed during the check (capped)

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
            return f"[{self.exercise_id}] passed all {self.cases} hidden cases." + self._printed()
        lines = []
        if self.error:
            lines.append(f"[{self.exercise_id}] {self.error}")
        if self.failures or not self.error:
            lines.append(
                f"[{self.exercise_id}] {len(self.failures)} of {self.cases} hidden cases failed."
            )
        # recognised mistakes first (their hint names what is actually wrong), and among them
        # the mistake that explains the most failed cases: one case can fit two mistakes
        votes = Counter(c.hint for c in self.failures if c.diagnosed)
        ordered = sorted(self.failures, key=lambda c: (not c.diagnosed, -votes[c.hint]))
        for case in ordered[:_MAX_SHOWN]:
            lines.append(f"  - on {shorten(case.input, 200)}:")
            lines.append(f"      expected {shorten(case.expected)}")
            lines.append(f"      got      {shorten(case.got)}")
            if case.hint:
                lines.append(f"      hint: {case.hint}")
        rest = ordered[_MAX_SHOWN:]
        if rest:
            named = "; ".join(shorten(c.input, 60) for c in rest[:5])
            more = f" (+{len(rest) - 5})" if len(rest) > 5 else ""
            lines.append(f"  ... and {len(rest)} more: {named}{more}")
        return "\n".join(lines) + self._printed()

    def _printed(self) -> str:
        if not self.output:
            return ""
        return "\n  your code printed:\n" + "\n".join(
            "    " + line for line in self.output.splitlines()
        )


# exercise id -> (the candidate checked, its code's fingerprint, the verdict): a function
# redefined after it passed is a different candidate, so it is checked again before use
_results: dict[str, tuple[Any, tuple[int, ...], CheckResult]] = {}


def _fingerprint(candidate: Any) -> tuple[int, ...]:
    """Identity of the candidate and of each function's code (a patched method changes it)."""
    codes = [id(getattr(f, "__code__", f)) for f in _persist.functions_of(candidate)]
    return (id(candidate), *codes)


def _remember(exercise_id: str, candidate: Any, result: CheckResult) -> CheckResult:
    _results[exercise_id] = (candidate, _fingerprint(candidate), result)
    return result


def _cached(exercise_id: str, candidate: Any) -> CheckResult | None:
    entry = _results.get(exercise_id)
    if entry is None or entry[0] is not candidate or entry[1] != _fingerprint(candidate):
        return None
    return entry[2]


def _describe_crash(exc: BaseException, current: str) -> str:
    where = learner_line_of_traceback(exc.__traceback__)
    text = f"your code raised {type(exc).__name__}: {shorten(str(exc), 200)}"
    if current:
        text += f"\n  while running: {shorten(current, 200)}"
    if where:
        text += f"\n  at {where}"
    return text


def run(exercise_id: str, candidate: Any, *, time_limit: float | None = None) -> CheckResult:
    """Run the hidden cases without printing (tests use this).

    ``time_limit`` overrides the exercise's own limit on the whole check (in seconds).
    """
    ex = get(exercise_id)
    limit = ex.time_limit if time_limit is None else time_limit
    result = CheckResult(exercise_id, passed=False, attempted=True)
    missing, written = unwritten(candidate, ex.parts)
    if missing and not written:
        result.attempted = False
        return _remember(exercise_id, candidate, result)
    if missing:
        result.error = (
            f"{len(ex.parts) - len(missing)} of {len(ex.parts)} methods written; still the stub "
            f"(raise NotImplementedError): {', '.join(missing)}. Write those, then run again."
        )
        return _remember(exercise_id, candidate, result)
    outcome = supervise(lambda: ex.checker(candidate), limit)
    result.output = outcome.output
    for case in outcome.cases:
        result.cases += 1
        if not case.ok:
            result.failures.append(case)
    if outcome.timed_out:
        result.error = (
            f"{outcome.timed_out}. Look for a loop that never ends, a sleep or a wait without "
            f"a timeout (the whole check gets {limit:g} s)."
        )
    elif outcome.crash is not None:
        result.error = _describe_crash(outcome.crash, outcome.current)
    result.passed = not result.failures and not result.error
    return _remember(exercise_id, candidate, result)


def check(exercise_id: str, candidate: Any) -> CheckResult:
    """Run exercise ``exercise_id``'s hidden cases against ``candidate`` and print feedback.

    A pass keeps the learner's code in ``my_client/`` (see :mod:`llmlab.check._persist`), so
    later labs build on it.
    """
    result = run(exercise_id, candidate)
    report = result.report()
    if result.passed:
        note = _persist.save(exercise_id, candidate)
        report += f"\n{note}" if note else ""
    print(report)
    return result


def _registered(exercise_id: str) -> bool:
    _load(exercise_id)
    return exercise_id in _REGISTRY


def reference_for(exercise_id: str) -> Any:
    """llmlab's reference for ``exercise_id`` (an unknown id is an ExerciseError naming it)."""
    return get(exercise_id).reference


def mine(exercise_id: str, candidate: Any = None) -> Any:
    """The learner's passing code for ``exercise_id``, else llmlab's reference (with a note).

    In order: ``candidate`` if it passes its check (a redefinition is checked again), the
    code kept in ``my_client/`` when it last passed, else the reference.
    """
    if candidate is not None and _registered(exercise_id):
        result = _cached(exercise_id, candidate) or run(exercise_id, candidate)
        if result.passed:
            return candidate
    try:
        kept = _persist.load(exercise_id)
    except Exception as exc:  # a hand-edited file that no longer runs
        print(f"(note: {_persist.path_for(exercise_id).name} does not load: {exc!r})")
        kept = None
    if kept is not None:
        if candidate is not None:
            print(
                f"(note: using your {exercise_id} kept in {_persist.my_code_dir().name}/; "
                "the one in this notebook does not pass its check)"
            )
        return kept
    print(f"(note: using llmlab's reference for {exercise_id} until yours passes its check)")
    return reference_for(exercise_id)


def solution_or_reference(exercise_id: str, candidate: T) -> T:
    """The learner's ``candidate`` if it passes its check, else their kept code, else llmlab's
    reference (with a note). Later cells call this so an unsolved notebook runs top to bottom.
    """
    chosen: T = mine(exercise_id, candidate)
    return chosen
