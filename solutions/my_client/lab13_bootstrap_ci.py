"""Your 13.bootstrap_ci, kept by llmlab.check when it passed: edit the notebook, not this file."""

import numpy as np


def bootstrap_ci(correct, level=0.95, n_resamples=10_000, seed=0):
    """Percentile-bootstrap confidence interval of an accuracy (the mean of correct)."""
    x = np.asarray(correct, dtype=float)
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_resamples, x.size))
    low, high = np.quantile(x[idx].mean(axis=1), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


__llmlab_exercise__ = '13.bootstrap_ci'
__llmlab_name__ = 'bootstrap_ci'
