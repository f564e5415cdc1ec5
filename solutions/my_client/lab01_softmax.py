"""Your 01.softmax, kept by llmlab.check when it passed: edit the notebook, not this file."""

import numpy as np
from collections.abc import Sequence


def softmax(logits: Sequence[float], temperature: float = 1.0) -> list[float]:
    values = [float(x) for x in logits]
    if temperature <= 0:
        best = values.index(max(values))  # the FIRST maximum
        return [1.0 if i == best else 0.0 for i in range(len(values))]
    scaled = [x / temperature for x in values]
    top = max(scaled)
    weights = [np.exp(x - top) for x in scaled]
    total = sum(weights)
    return [float(w / total) for w in weights]


__llmlab_exercise__ = '01.softmax'
__llmlab_name__ = 'softmax'
