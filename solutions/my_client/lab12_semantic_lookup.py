"""Your 12.semantic_lookup, kept by llmlab.check when it passed: edit the notebook, not this file."""

import numpy as np


def semantic_lookup(query, keys, threshold):
    """Index of the most similar cached key, or None if none is similar enough."""
    if len(keys) == 0:
        return None
    sims = keys @ query / (np.linalg.norm(keys, axis=1) * np.linalg.norm(query))
    best = int(np.argmax(sims))
    return best if sims[best] >= threshold else None


__llmlab_exercise__ = '12.semantic_lookup'
__llmlab_name__ = 'semantic_lookup'
