"""Your 01.penalties, kept by llmlab.check when it passed: edit the notebook, not this file."""

from collections.abc import Mapping
from collections.abc import Sequence


def apply_penalties(
    logits: Sequence[float],
    counts: Mapping[int, int],
    frequency_penalty: float,
    presence_penalty: float,
) -> list[float]:
    out = [float(x) for x in logits]
    for token, n in counts.items():
        if n > 0:
            out[token] -= n * frequency_penalty + presence_penalty
    return out


__llmlab_exercise__ = '01.penalties'
__llmlab_name__ = 'apply_penalties'
