"""Your 02.cost_usd, kept by llmlab.check when it passed: edit the notebook, not this file."""


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


__llmlab_exercise__ = '02.cost_usd'
__llmlab_name__ = 'cost_usd'
