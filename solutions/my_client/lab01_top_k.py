"""Your 01.top_k, kept by llmlab.check when it passed: edit the notebook, not this file."""

from collections.abc import Sequence


def top_k_filter(probs: Sequence[float], k: int) -> list[float]:
    if k <= 0 or k >= len(probs):
        return [float(q) for q in probs]
    keep = set(sorted(range(len(probs)), key=lambda i: -probs[i])[:k])
    kept = [float(q) if i in keep else 0.0 for i, q in enumerate(probs)]
    return [q / sum(kept) for q in kept]


__llmlab_exercise__ = '01.top_k'
__llmlab_name__ = 'top_k_filter'
