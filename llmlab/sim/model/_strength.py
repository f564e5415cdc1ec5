"""Model strength: why a strong model triages mixed-cue incident reports better than a cheap one.

Every model reads the same cue words (:data:`llmlab.sim.model._skills._SEVERITY_CUES`). A *cheap*
model at temperature 0 follows its first impression, the single strongest cue. A *strong*
model (:data:`STRONG`) deliberates: it weighs every cue, reads a second, documented table of
scope and hedge phrases (:data:`_DELIBERATE_CUES`: "nearly everyone", "retries succeed",
"not affected", "unclear whether ... data loss"), and answers the label with the most votes.
On clear-cut reports both agree; on ambiguous ones (mixed cues, hedged impact) the strong
model is right more often, which is what routing (lab 12) measures and pays for.

The wire handlers say which model is answering (:func:`serving`); the skill asks
:func:`adjust` for the votes. Deterministic: no randomness is drawn here. The default models
(claude-sonnet-4-6, gpt-4.1-mini) are cheap, so labs 00-11 answer exactly as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator

#: models that deliberate (the most capable, most expensive tier of each provider)
STRONG = frozenset({"gpt-4.1", "gpt-4o", "claude-opus-4-1"})

#: phrase -> (severity, weight): scope, recovery and hedge cues only a strong model weighs
_DELIBERATE_CUES: dict[str, tuple[str, float]] = {
    "nearly everyone": ("sev1", 3.0),
    "data exposure": ("sev1", 3.0),
    "another customer's": ("sev1", 3.0),
    "security": ("sev1", 2.0),
    "major": ("sev2", 2.0),
    "many customers": ("sev2", 1.0),
    "not confirmed": ("sev2", 1.5),
    "unclear whether": ("sev2", 1.5),
    "recoverable": ("sev2", 1.0),
    "retries succeed": ("sev3", 2.0),
    "retries mostly succeed": ("sev3", 0.5),
    "attempts succeed": ("sev3", 2.0),
    "do complete": ("sev3", 2.0),
    "under 1 percent": ("sev3", 2.0),
    "other customers": ("sev3", 1.5),
    "a few customers": ("sev3", 1.0),
    "not affected": ("sev4", 2.5),
    "display problem": ("sev4", 2.0),
}
#: a hedged catastrophe ("whether this is data loss") is not a catastrophe yet
_HEDGED = re.compile(
    r"\b(whether|if|possible|may be|might be)\s+(this is\s+)?(data loss|an outage)"
)
#: cues a negation in the three words before cancels ("not down", "no outage")
_NEGATION = re.compile(r"\b(not|no|never|without|isn't|wasn't)\s+(\w+\s+){0,2}$")

_serving: contextvars.ContextVar[str] = contextvars.ContextVar("llmlab_sim_model", default="")


@contextlib.contextmanager
def serving(model: str) -> Iterator[None]:
    """Within this block the simulated skills answer as ``model`` (a catalog id)."""
    token = _serving.set(model)
    try:
        yield
    finally:
        _serving.reset(token)


def is_strong(model: str) -> bool:
    """Does ``model`` deliberate over every cue (True) or follow its first impression?"""
    return model in STRONG


def strong() -> bool:
    """Is the model serving this request a strong one?"""
    return is_strong(_serving.get())


def _negated(low: str, cue: str) -> bool:
    pos = low.find(cue)
    return pos >= 0 and bool(_NEGATION.search(low[max(pos - 40, 0) : pos]))


def deliberate_votes(text: str, votes: dict[str, float]) -> dict[str, float]:
    """``votes`` (the common cue table's) revised as a strong model reads the report."""
    low = text.lower()
    out = dict(votes)
    for cue, (sev, weight) in _DELIBERATE_CUES.items():
        if cue in low and not _negated(low, cue):
            out[sev] = out.get(sev, 0.0) + weight
    for _ in _HEDGED.finditer(low):
        out["sev1"] = max(out.get("sev1", 0.0) - 3.0, 0.0)
        out["sev2"] = out.get("sev2", 0.0) + 1.0
    return out


def adjust(
    text: str, votes: dict[str, float], first_impression: str | None
) -> tuple[dict[str, float], str | None]:
    """The votes and temperature-0 answer of the model now serving (cheap: unchanged)."""
    if not is_strong(_serving.get()):
        return votes, first_impression
    revised = deliberate_votes(text, votes)
    best = max(revised.values(), default=0.0)
    if best <= 0:
        return revised, first_impression
    tops = [s for s, v in revised.items() if v == best]
    return revised, first_impression if first_impression in tops else tops[0]
