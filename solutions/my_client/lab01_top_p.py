"""Your 01.top_p, kept by llmlab.check when it passed: edit the notebook, not this file."""

from collections.abc import Sequence


def top_p_filter(probs: Sequence[float], p: float) -> list[float]:
    if p >= 1.0:
        return [float(q) for q in probs]
    order = sorted(range(len(probs)), key=lambda i: -probs[i])  # stable: ties by lower index
    keep, cumulative = set(), 0.0
    for i in order:
        keep.add(i)
        cumulative += probs[i]
        if cumulative >= p - 1e-12:  # float sums can land a hair below p
            break
    kept = [float(q) if i in keep else 0.0 for i, q in enumerate(probs)]
    return [q / sum(kept) for q in kept]


__llmlab_exercise__ = '01.top_p'
__llmlab_name__ = 'top_p_filter'
