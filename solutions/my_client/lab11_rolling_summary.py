"""Your 11.rolling_summary, kept by llmlab.check when it passed: edit the notebook, not this file."""

from llmlab.reference.context import with_summary


async def rolling_summary(system, summary, turns, budget, count, summarise):
    """(summary, turns): over budget, the oldest turns folded into the summary in ONE call."""
    kept = list(turns)
    if count(with_summary(system, summary), kept) <= budget:
        return summary, kept
    cut = 0
    while count(with_summary(system, summary), kept[cut:]) > budget // 2 and cut < len(kept) - 1:
        cut += 1
        while kept[cut]["role"] != "user":
            cut += 1
    return await summarise(summary, kept[:cut]), kept[cut:]


__llmlab_exercise__ = '11.rolling_summary'
__llmlab_name__ = 'rolling_summary'
