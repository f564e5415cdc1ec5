"""The model runtime: a neutral conversation in, tokens and tool calls out (no wire format here)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from llmlab.sim.model._conversation import Conversation
from llmlab.sim.model._lm import EOS, NGramModel
from llmlab.sim.model._recall import recall
from llmlab.sim.model._sampling import SamplingParams, distribution, draw
from llmlab.sim.model._skills import Behaviour, plan

StopReason = Literal["end", "max_tokens", "stop_sequence", "tool_use"]
_TOPIC_BIAS = 1.5  # logit boost for vocabulary the user mentioned: keeps replies on topic
_MIN_WORDS = 6  # end-of-reply is suppressed for the first few tokens


@dataclass
class TokenOut:
    text: str
    raw: bytes
    logprob: float  # the model's own log-probability (temperature 1, before filtering)
    top: list[tuple[str, bytes, float]] = field(default_factory=list)


@dataclass
class TextOut:
    tokens: list[TokenOut]
    #: tokens generated but not part of the text: a stop sequence's tokens and the end-of-turn
    #: token. They are billed, so OpenAI's logprobs list them after the text's own tokens.
    unseen: list[TokenOut] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(t.text for t in self.tokens)


@dataclass
class ToolCallOut:
    name: str
    arguments: str  # JSON text, possibly cut short by max_tokens
    n_tokens: int


@dataclass
class Generation:
    parts: list[TextOut | ToolCallOut]
    stop: StopReason
    stop_sequence: str | None
    output_tokens: int

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextOut))


def _scripted(model: NGramModel, text: str, limit: int) -> tuple[TextOut, bool]:
    ids = model.encoding.encode(text)
    cut = len(ids) > limit
    tokens = []
    for tid in ids[:limit]:
        raw = model.encoding.decode_single_token_bytes(tid)
        tokens.append(
            TokenOut(
                raw.decode("utf-8", errors="replace"),
                raw,
                0.0,
                [(raw.decode("utf-8", errors="replace"), raw, 0.0)],
            )
        )
    return TextOut(tokens), cut


def _free_text(
    model: NGramModel,
    conv: Conversation,
    params: SamplingParams,
    max_tokens: int,
    stops: list[str],
    rng: np.random.Generator,
    top_n: int,
) -> tuple[TextOut, StopReason, str | None, int]:
    prompt_local = model.to_local(model.encoding.encode(conv.last_user_text))
    bias = np.zeros(model.size)
    for tok in set(prompt_local):
        if len(model.token_text(tok).strip()) > 3:
            bias[tok] = _TOPIC_BIAS
    context = model.to_local(model.encoding.encode(conv.prefill))[-2:] if conv.prefill else []
    counts: Counter[int] = Counter()
    tokens: list[TokenOut] = []
    text = ""
    plain = _plain(params)
    for step in range(max_tokens):
        base = model.log_probs(context)
        logits = base + bias  # a new array: the memoised distribution stays untouched
        if step < _MIN_WORDS:
            logits[EOS] = -np.inf
        tok = -1
        if plain:
            tok, lognorm = _plain_step(logits, rng, masked=step < _MIN_WORDS)
        if tok < 0:  # the general pipeline (also when the fast path found a zero probability)
            probs = distribution(logits, params, counts)
            tok = draw(probs, rng)
            finite = logits[np.isfinite(logits)]
            peak = finite.max()
            lognorm = peak + np.log(np.exp(finite - peak).sum())
        top = []
        if top_n:
            logz = logits - lognorm
            best = np.argsort(-logz, kind="stable")[:top_n]
            top = [(model.token_text(i), model.token_bytes(i), float(logz[i])) for i in best]
        if tok == EOS:  # billed like any token, so it has a logprobs entry too
            end = TokenOut("", b"", float(logits[tok] - lognorm), top)
            return TextOut(tokens, [end]), "end", None, step + 1
        tokens.append(
            TokenOut(
                model.token_text(tok), model.token_bytes(tok), float(logits[tok] - lognorm), top
            )
        )
        counts[tok] += 1
        context = [*context[-1:], tok]
        if not stops:
            continue
        text += tokens[-1].text  # only stop sequences read the text so far
        for s in stops:
            at = text.find(s)
            if at >= 0:
                return TextOut(tokens, _trim(tokens, len(text) - at)), "stop_sequence", s, step + 1
    return TextOut(tokens), "max_tokens", None, max_tokens


def _plain(params: SamplingParams) -> bool:
    """Sampling at temperature 1 with no filters or penalties (every current Anthropic call)."""
    return (
        params.temperature == 1.0
        and params.top_p is None
        and params.top_k is None
        and params.frequency_penalty == 0
        and params.presence_penalty == 0
    )


def _plain_step(logits: np.ndarray, rng: np.random.Generator, masked: bool) -> tuple[int, float]:
    """One draw for :func:`_plain` parameters, and the log normaliser of ``logits``.

    The same floating-point operations as ``distribution`` + ``draw`` + the log-softmax, in
    the same order, computed once instead of three times: at temperature 1 the softmax's
    exponentials are the log-softmax's too, and when no probability is zero the draw's
    non-zero subset is the whole array (or all but end-of-reply when ``masked``, its logit
    being -inf). Outputs are bit-identical to the general path, which stored notebook outputs
    rely on. Returns (-1, 0.0) with the generator untouched when some other probability is
    zero (an underflow or another -inf), so the caller takes the general path.
    """
    peak = logits.max()
    z = np.exp(logits - peak)
    zsum = z.sum()
    probs = z / zsum
    live = probs[1:] if masked else probs  # end-of-reply is local id 0
    if not live.all():
        return -1, 0.0
    cumulative = live.cumsum()  # the methods, not np.cumsum / np.searchsorted: same results,
    i = int(cumulative.searchsorted(rng.random() * cumulative[-1], side="right"))  # less overhead
    tok = min(i, live.size - 1) + (1 if masked else 0)
    # the general path sums the finite exponentials only: all but end-of-reply when masked
    total = z[1:].sum() if masked else zsum
    return tok, float(peak + np.log(total))


def _trim(tokens: list[TokenOut], n_chars: int) -> list[TokenOut]:
    """Drop the last ``n_chars`` characters (the stop sequence and anything after it); returns
    the tokens dropped whole, in order."""
    dropped: list[TokenOut] = []
    while n_chars > 0 and tokens:
        last = tokens[-1]
        if len(last.text) <= n_chars:
            n_chars -= len(last.text)
            dropped.insert(0, tokens.pop())
        else:
            kept = last.text[: len(last.text) - n_chars]
            tokens[-1] = TokenOut(kept, kept.encode(), last.logprob, last.top)
            n_chars = 0
    return dropped


def generate(
    model: NGramModel,
    conv: Conversation,
    params: SamplingParams,
    max_tokens: int,
    stops: list[str],
    rng: np.random.Generator,
    behaviour: Behaviour,
    top_n: int = 0,
) -> Generation:
    """One reply: structured when a skill applies, otherwise sampled from the language model."""
    decided = recall(conv, rng) or plan(conv, behaviour, rng, params.temperature)
    if decided is None:
        out, stop, seq, n = _free_text(model, conv, params, max_tokens, stops, rng, top_n)
        return Generation([out], stop, seq, n)
    parts: list[TextOut | ToolCallOut] = []
    used = 0
    if decided.text:
        out, cut = _scripted(model, decided.text, max_tokens)
        text = out.text
        for s in stops:
            at = text.find(s)
            if at >= 0:
                _trim(out.tokens, len(text) - at)
                return Generation([out], "stop_sequence", s, len(out.tokens))
        parts.append(out)
        used = len(out.tokens)
        if cut:
            return Generation(parts, "max_tokens", None, max_tokens)
    for name, args in decided.tool_calls:
        arguments = json.dumps(args)
        ids = model.encoding.encode(arguments)
        overhead = 8  # the tool-call framing tokens a real model emits around the arguments
        if used + overhead + len(ids) > max_tokens:
            room = max(max_tokens - used - overhead, 0)
            partial = model.encoding.decode(ids[:room])
            parts.append(ToolCallOut(name, partial, room))
            return Generation(parts, "max_tokens", None, max_tokens)
        parts.append(ToolCallOut(name, arguments, len(ids) + overhead))
        used += len(ids) + overhead
    reason: StopReason = "tool_use" if decided.tool_calls else "end"
    return Generation(parts, reason, None, max(used, 1))
