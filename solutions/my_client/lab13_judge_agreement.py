"""Your 13.judge_agreement, kept by llmlab.check when it passed: edit the notebook, not this file."""

import numpy as np


def judge_agreement(judge, labels):
    """Cohen's kappa of a judge's verdicts against the labels (0 = chance, 1 = perfect)."""
    j, y = np.asarray(judge, dtype=float), np.asarray(labels, dtype=float)
    observed = np.mean(j == y)
    expected = j.mean() * y.mean() + (1 - j.mean()) * (1 - y.mean())
    return float((observed - expected) / (1 - expected))


__llmlab_exercise__ = '13.judge_agreement'
__llmlab_name__ = 'judge_agreement'
