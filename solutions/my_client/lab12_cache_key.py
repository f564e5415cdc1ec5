"""Your 12.cache_key, kept by llmlab.check when it passed: edit the notebook, not this file."""

import hashlib
import json


def cache_key(model, params, tools, messages, tenant):
    """A stable, canonical key for a response cache: same request, same key, per tenant."""
    canonical = {
        "tenant": tenant,
        "model": model,
        "params": {k: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                   for k, v in params.items() if v is not None},
        "tools": sorted(tools, key=lambda t: json.dumps(t, sort_keys=True)),
        "messages": list(messages),
    }
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


__llmlab_exercise__ = '12.cache_key'
__llmlab_name__ = 'cache_key'
