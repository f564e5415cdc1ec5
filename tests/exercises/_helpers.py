"""Shared by the exercise tests: what a learner reads first in a failed check's report."""

from __future__ import annotations

from llmlab.check import CheckResult


def first_hint(result: CheckResult) -> str:
    """The first hint the report shows (the one a learner acts on), or ''."""
    hints = [line.strip() for line in result.report().splitlines() if "hint:" in line]
    return hints[0] if hints else ""


def first_problem(result: CheckResult) -> str:
    """The report's first failure block: its case, expected, got and hint lines."""
    lines = result.report().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("  - on ")), len(lines))
    return "\n".join(lines[start : start + 4])
