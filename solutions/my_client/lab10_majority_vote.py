"""Your 10.majority_vote, kept by llmlab.check when it passed: edit the notebook, not this file."""

from collections import Counter

SEVERITY_ORDER = ('sev1', 'sev2', 'sev3', 'sev4')


def majority_vote(labels):
    counts = Counter(labels)
    top = max(counts.values())
    return min((label for label in counts if counts[label] == top), key=SEVERITY_ORDER.index)


__llmlab_exercise__ = '10.majority_vote'
__llmlab_name__ = 'majority_vote'
