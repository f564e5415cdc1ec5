"""Your 02.message_shares, kept by llmlab.check when it passed: edit the notebook, not this file."""

from llmlab import tokens


def message_shares(messages, model="gpt-4.1-mini") -> list[float]:
    total = tokens.chat_tokens(messages, model)
    per_message = []
    for m in messages:
        n = 3 + sum(tokens.count(str(v), model) for v in m.values())
        n += 1 if "name" in m else 0
        per_message.append(n / total)
    return per_message


__llmlab_exercise__ = '02.message_shares'
__llmlab_name__ = 'message_shares'
