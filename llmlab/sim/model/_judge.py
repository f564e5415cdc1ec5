"""The model as a judge of incident triage: documented verdicts with measurable biases (lab 13).

A prompt that carries an incident ``Report:`` and either one ``Proposed answer:`` (grading) or
``Answer A:`` and ``Answer B:`` (a pairwise comparison) is judged, and the model replies with
one word: ``PASS``/``FAIL``, or ``A``/``B``.

* Grading: the judge triages the report itself (with the serving model's strength, see
  :mod:`._strength`) and passes the answer iff the first severity it names (``sev1``..``sev4``)
  matches its own. Its errors are its own triage errors.
* Pairwise: each answer scores ``2 * share``, the share of the report's cue votes (as the
  serving model weighs them) that support the severity it names, plus a **verbosity** bonus
  ``verbosity * min(words, 60) / 60``; answer A gets a **position** bonus; the higher score
  wins (a tie goes to A). Cheap models are swayed more (:data:`BIASES`): a padded wrong
  answer often beats a terse right one, and when the cues split between the two answers,
  the first one wins. Both biases are what lab 13 measures, and what swapping the order and
  stripping the padding are for.

Deterministic at any temperature: no randomness is drawn here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: (verbosity weight, position bonus) by tier: what a judge of that strength is swayed by
BIASES = {"cheap": (2.2, 0.5), "strong": (0.4, 0.1)}

_REPORT = re.compile(r"report:\s*(.*?)\s*(?=proposed answer:|answer a:)", re.I | re.S)
_PROPOSED = re.compile(r"proposed answer:\s*(.*)", re.I | re.S)
_PAIR = re.compile(r"answer a:\s*(.*?)\s*answer b:\s*(.*)", re.I | re.S)
_SEVERITY = re.compile(r"\bsev[1-4]\b", re.I)


def _severity(answer: str) -> str | None:
    found = _SEVERITY.search(answer)
    return found.group(0).lower() if found else None


def _score(answer: str, votes: dict[str, float], verbosity: float) -> float:
    total = sum(votes.values())
    sev = _severity(answer)
    share = (votes.get(sev, 0.0) / total if total > 0 else 0.25) if sev else 0.0
    return 2.0 * share + verbosity * min(len(answer.split()), 60) / 60


def verdict(
    text: str,
    triage: Callable[[str], str],
    votes: Callable[[str], dict[str, float]],
    strong: bool,
) -> str | None:
    """The judge's one-word reply to ``text``, or None if ``text`` is not a judging prompt.

    ``triage`` is the serving model's own severity for a report, ``votes`` its cue votes.
    """
    low = text.lower()
    if "proposed answer:" not in low and "answer a:" not in low:
        return None
    report = _REPORT.search(text)
    if report is None:
        return None
    pair = _PAIR.search(text)
    if pair is not None:
        verbosity, position = BIASES["strong" if strong else "cheap"]
        cues = votes(report.group(1))
        a = _score(pair.group(1), cues, verbosity) + position
        b = _score(pair.group(2), cues, verbosity)
        return "A" if a >= b else "B"
    proposed = _PROPOSED.search(text)
    if proposed is None:
        return None
    return "PASS" if _severity(proposed.group(1)) == triage(report.group(1)) else "FAIL"
