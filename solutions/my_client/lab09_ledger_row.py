"""Your 09.ledger_row, kept by llmlab.check when it passed: edit the notebook, not this file."""

from llmlab.pricing import cost


def ledger_row(response, *, provider, feature, tenant, latency_ms, ttft_ms=None):
    u = response.usage
    if provider == "anthropic":
        uncached, output = u.input_tokens, u.output_tokens
        write = u.cache_creation_input_tokens or 0
        write_1h = u.cache_creation.ephemeral_1h_input_tokens if u.cache_creation else 0
        read = u.cache_read_input_tokens or 0
    else:  # openai: prompt_tokens INCLUDES the cached part; no cache-write fee
        read = (u.prompt_tokens_details.cached_tokens or 0) if u.prompt_tokens_details else 0
        uncached, output, write, write_1h = u.prompt_tokens - read, u.completion_tokens, 0, 0
    usd = cost(response.model, input_tokens=uncached, output_tokens=output, provider=provider,
               cache_write_tokens=write, cache_write_1h_tokens=write_1h, cache_read_tokens=read)
    return {
        "request_id": response.id, "provider": provider, "model": response.model,
        "feature": feature, "tenant": tenant, "status": "ok",
        "prompt_tokens": uncached + write + read, "completion_tokens": output,
        "cache_read_tokens": read, "cache_write_tokens": write,
        "cost_usd": float(usd.total_usd), "latency_ms": latency_ms, "ttft_ms": ttft_ms,
    }


__llmlab_exercise__ = '09.ledger_row'
__llmlab_name__ = 'ledger_row'
