"""Your 12.pick_threshold, kept by llmlab.check when it passed: edit the notebook, not this file."""


def pick_threshold(scores, cheap_ok, strong_ok, cheap_usd, strong_usd, min_accuracy):
    """The cheapest escalation threshold that is accurate enough on the labelled set."""
    best = None
    for t in range(0, max(scores) + 2):
        strong_here = [s >= t for s in scores]
        ok = [so if e else co for e, co, so in zip(strong_here, cheap_ok, strong_ok)]
        usd = sum(su if e else cu for e, cu, su in zip(strong_here, cheap_usd, strong_usd))
        accuracy = sum(ok) / len(ok)
        if accuracy >= min_accuracy and (best is None or (usd, -accuracy, -t) < best):
            best = (usd, -accuracy, -t)
    return None if best is None else -best[2]


__llmlab_exercise__ = '12.pick_threshold'
__llmlab_name__ = 'pick_threshold'
