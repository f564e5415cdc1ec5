"""Shared by the exercise tests: what a learner reads first in a failed check's report."""

from __future__ import annotations

from typing import Any

from llmlab.check import CheckResult, run


def hints(result: CheckResult) -> list[str]:
    """Every hint the report shows, in order."""
    return [line.strip() for line in result.report().splitlines() if "hint:" in line]


def first_hint(result: CheckResult) -> str:
    """The first hint the report shows (the one a learner acts on), or ''."""
    shown = hints(result)
    return shown[0] if shown else ""


def first_problem(result: CheckResult) -> str:
    """The report's first failure block: its case, expected, got and hint lines."""
    lines = result.report().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("  - on ")), len(lines))
    return "\n".join(lines[start : start + 4])


def assert_mistakes_named(exercise: str, expected: dict[Any, str]) -> None:
    """Each wrong version fails ``exercise``'s check, and the first hint shown names its mistake."""
    for wrong, words in expected.items():
        result = run(exercise, wrong)
        assert result.attempted and not result.passed, wrong.__name__
        assert words in first_hint(result), (wrong.__name__, first_hint(result))
