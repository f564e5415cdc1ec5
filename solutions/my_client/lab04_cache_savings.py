"""Your 04.cache_savings, kept by llmlab.check when it passed: edit the notebook, not this file."""


def cache_savings(calls_per_day, cached_tokens, uncached_tokens, output_tokens, writes_per_day,
                  price_in, price_out):
    """Fraction of the no-cache daily cost that prompt caching saves."""
    rest = calls_per_day * (uncached_tokens * price_in + output_tokens * price_out)
    baseline = calls_per_day * cached_tokens * price_in + rest
    writes = min(writes_per_day, calls_per_day)
    prefix = (writes * 1.25 + (calls_per_day - writes) * 0.10) * cached_tokens * price_in
    return (baseline - (prefix + rest)) / baseline


__llmlab_exercise__ = '04.cache_savings'
__llmlab_name__ = 'cache_savings'
