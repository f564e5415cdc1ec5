"""Your 00.total_input_tokens, kept by llmlab.check when it passed: edit the notebook, not this file."""


def total_input_tokens(usage):
    return usage["input_tokens"] + usage["cache_creation_input_tokens"] + usage["cache_read_input_tokens"]


__llmlab_exercise__ = '00.total_input_tokens'
__llmlab_name__ = 'total_input_tokens'
