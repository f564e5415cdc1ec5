"""Your 02.CostMeter, kept by llmlab.check when it passed: edit the notebook, not this file."""


def cost_usd(
    input_tokens: int,
    output_tokens: int,
    price_in: float,
    price_out: float,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    write_multiplier: float = 1.25,
    read_multiplier: float = 0.10,
) -> float:
    per_token_in = price_in / 1_000_000
    return (
        input_tokens * per_token_in
        + cache_write_tokens * per_token_in * write_multiplier
        + cache_read_tokens * per_token_in * read_multiplier
        + output_tokens * price_out / 1_000_000
    )


class CostMeter:
    def __init__(self, price_in: float, price_out: float,
                 write_multiplier: float = 1.25, read_multiplier: float = 0.10) -> None:
        self.price_in, self.price_out = price_in, price_out
        self.write_multiplier, self.read_multiplier = write_multiplier, read_multiplier
        self.total_usd = 0.0

    def add(self, usage) -> float:
        if hasattr(usage, "prompt_tokens"):  # OpenAI: cached tokens are inside prompt_tokens
            details = usage.prompt_tokens_details
            read = (details.cached_tokens or 0) if details else 0
            uncached, output, write = usage.prompt_tokens - read, usage.completion_tokens, 0
        else:  # Anthropic: input_tokens is already the uncached part
            uncached, output = usage.input_tokens, usage.output_tokens
            write = usage.cache_creation_input_tokens or 0
            read = usage.cache_read_input_tokens or 0
        call = cost_(uncached, output, self.price_in, self.price_out, write, read,
                     self.write_multiplier, self.read_multiplier)
        self.total_usd += call
        return call


cost_ = cost_usd


__llmlab_exercise__ = '02.CostMeter'
__llmlab_name__ = 'CostMeter'
