"""The model runtime: a neutral conversation in, tokens and tool calls out (no wire format here)."""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from llmlab.sim.model._conversation import Conversation
from llmlab.sim.model._lm import EOS, NGramModel
from llmlab.sim.model._planner import TRIAGE_ASK, AnswerPlan, Choice, continuing, plan_answer
from llmlab.sim.model._recall import recall
from llmlab.sim.model._sampling import SamplingParams, distribution, draw
from llmlab.sim.model._skills import Behaviour, pick_severity, plan, services_in

StopReason = Literal["end", "max_tokens", "stop_sequence", "tool_use"]
_TOPIC_BIAS = 1.5  # free text (thinking): logit boost for vocabulary the user mentioned
_MIN_WORDS = 6  # free text: end-of-reply is suppressed for the first few tokens


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
        hit = _stop_hit(tokens, text, stops, step)
        if hit is not None:
            return hit
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
    table = _plain_table(logits, masked)
    return (-1, 0.0) if table is None else _plain_draw(table, rng, masked)


def _plain_table(logits: np.ndarray, masked: bool) -> tuple[np.ndarray, float] | None:
    """(cumulative probabilities, log normaliser) of one :func:`_plain_step`; None when some
    probability is zero. Depends on the logits alone, so a fixed first step computes it once."""
    peak = logits.max()
    z = np.exp(logits - peak)
    zsum = z.sum()
    probs = z / zsum
    live = probs[1:] if masked else probs  # end-of-reply is local id 0
    if not live.all():
        return None
    cumulative = live.cumsum()
    # the general path sums the finite exponentials only: all but end-of-reply when masked
    total = z[1:].sum() if masked else zsum
    cumulative.setflags(write=False)
    return cumulative, float(peak + np.log(total))


def _plain_draw(
    table: tuple[np.ndarray, float], rng: np.random.Generator, masked: bool
) -> tuple[int, float]:
    cumulative, lognorm = table
    # the methods, not np.cumsum / np.searchsorted: same results, less overhead
    i = int(cumulative.searchsorted(rng.random() * cumulative[-1], side="right"))
    return min(i, cumulative.size - 1) + (1 if masked else 0), lognorm


def _stop_hit(
    tokens: list[TokenOut], text: str, stops: list[str], step: int
) -> tuple[TextOut, StopReason, str | None, int] | None:
    """The result of a loop whose ``text`` so far contains a stop sequence (the stop and
    what follows trimmed off ``tokens``), else None."""
    for s in stops:
        at = text.find(s)
        if at >= 0:
            return TextOut(tokens, _trim(tokens, len(text) - at)), "stop_sequence", s, step + 1
    return None


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
        text = conv.last_user_text
        severity = service = None
        if TRIAGE_ASK.search(text):
            severity = pick_severity(text, params.temperature, rng)
            service = next(iter(services_in(text)), None)
        answer = plan_answer(conv, severity, service, Choice(rng, params.temperature))
        if conv.prefill:  # continue the caller's start of the reply
            answer = continuing(answer, conv.prefill)
        out, stop, seq, n = guided_text(model, answer, params, max_tokens, stops, rng, top_n)
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


# -- guided decoding: the model's distribution centred on an answer plan ------------------------
#: probability the plan's next token gets at temperature 1 (the rest keeps the model's shape)
PLAN_MASS = 0.998
#: the opening token's distribution at temperature 1: the plan's first word gets OPENING_PLAN,
#: discourse openers ("Sure.", "In short, ...") share OPENING_OTHERS in the proportions the model
#: gives them, and the rest of the vocabulary keeps the model's shape in what is left (1 %)
OPENING_PLAN = 0.5
OPENING_OTHERS = 0.49
#: discourse openers: the text before the plan, and whether the plan's first letter is lowered
_OPENERS = (
    ("Sure. ", False),
    ("In short, ", True),
    ("Here is the short answer. ", False),
    ("Briefly, ", True),
    ("Good question. ", False),
    ("Overall, ", True),
    ("Put simply, ", True),
    ("First, ", True),
    ("In practice, ", True),
)


@functools.cache
def _openers(model: NGramModel) -> dict[int, tuple[str, bool]]:
    """Model-local first token -> opener, for the openers the vocabulary can start."""
    out: dict[int, tuple[str, bool]] = {}
    for prefix, lower in _OPENERS:
        first = model.encoding.encode(prefix)[0]
        local = model.to_local([first])
        if local and local[0] not in out:
            out[local[0]] = (prefix, lower)
    return out


@functools.lru_cache(maxsize=1024)
def _encode(model: NGramModel, text: str) -> tuple[int, ...]:
    """``model.encoding.encode(text)``, memoised: a plan's text is encoded several times per
    reply, and the same plans recur across requests."""
    return tuple(model.encoding.encode(text))


@functools.lru_cache(maxsize=256)
def _first_step(
    model: NGramModel, plan_first: int, continuation: bool
) -> tuple[np.ndarray, tuple[np.ndarray, float] | None]:
    """The first token's logits (read-only) and their :func:`_plain_table`, once per opening.

    The first step's context is always empty, so its logits depend only on the plan's first
    token and on whether the plan continues a prefill: the same arrays every reply computed.
    """
    base = model.log_probs([])
    if continuation:
        logits = base.copy()
        if plan_first >= 0:
            logits[plan_first] = _ODDS + np.log1p(-np.exp(base[plan_first]) + 1e-300)
        else:
            logits = np.append(logits, _ODDS)
        logits[EOS] = -np.inf  # a reply never ends before it starts
    else:
        logits = _opening_logits(model, base, plan_first)
        if plan_first < 0:  # the plan opens with a word the vocabulary lacks: a copy slot
            logits = np.append(logits, np.log(OPENING_PLAN))
    logits.setflags(write=False)
    return logits, _plain_table(logits, masked=True)


def _opening_logits(model: NGramModel, base: np.ndarray, plan_first: int) -> np.ndarray:
    """The first token's logits: see OPENING_PLAN (a real distribution, normalised)."""
    special = [i for i in _openers(model) if i != plan_first]
    logits = base + np.log(1 - OPENING_PLAN - OPENING_OTHERS)
    logits[EOS] = -np.inf  # a reply never ends before it starts
    w = np.exp(base[special] - base[special].max())
    logits[special] = np.log(OPENING_OTHERS * w / w.sum())
    if plan_first >= 0:
        logits[plan_first] = np.log(OPENING_PLAN)
    out: np.ndarray = logits
    return out


def _lower_first(text: str) -> str:
    """The plan after an opener such as "In short, ": its first word lowered unless a name."""
    word = text.split(" ", 1)[0]
    keep = word == "I" or (len(word) > 1 and word.isupper()) or word in _PROPER
    if keep or any(c.isdigit() for c in word):
        return text
    return text[0].lower() + text[1:]


_PROPER = frozenset({"Northwind", "Cloud", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday"})


def _plan_ids(model: NGramModel, answer: AnswerPlan, first: int) -> list[int]:
    """The plan's tiktoken ids, given the sampled first token ``first`` (a tiktoken id)."""
    ids = list(_encode(model, answer.text))
    if ids and ids[0] == first:
        return ids
    local = model.to_local([first])
    opener = _openers(model).get(local[0]) if local else None
    if opener is not None:
        prefix, lower = opener
        ids = list(_encode(model, prefix + (_lower_first(answer.text) if lower else answer.text)))
        if ids[0] == first:
            return ids
    # an opening the plan cannot follow: the reply starts off-plan, then says the plan
    return [first, *_encode(model, " " + answer.text)]


def guided_text(
    model: NGramModel,
    answer: AnswerPlan,
    params: SamplingParams,
    max_tokens: int,
    stops: list[str],
    rng: np.random.Generator,
    top_n: int,
) -> tuple[TextOut, StopReason, str | None, int]:
    """Sample a reply whose next-token distribution is centred on ``answer``'s next token.

    At each step the plan's next token gets probability PLAN_MASS at temperature 1 and the
    model's own distribution shares the rest; temperature and top-p act on that distribution.
    A token the course vocabulary lacks (a name copied from the prompt) gets an extra slot, a
    copy head. An off-plan token is kept; the plan resumes after it (or skips the planned token
    when the off-plan one is the token after it), so a high temperature visibly derails.
    """
    plain = _plain(params)
    counts: Counter[int] = Counter()
    tokens: list[TokenOut] = []
    text = ""
    context: list[int] = []
    plan: list[int] = []
    pos = 0
    first_ids = model.to_local(_encode(model, answer.text)[:1])
    first_table: tuple[np.ndarray, float] | None = None
    plan_first = first_ids[0] if first_ids else -1
    for step in range(max_tokens):
        if step and plain and not top_n:  # the common case, without vocabulary-sized work
            return _plan_loop(model, plan, pos, context, tokens, text, step, max_tokens, stops, rng)
        copy = -1
        tok = -1
        logprob = lognorm = 0.0
        if step == 0:
            logits, first_table = _first_step(model, plan_first, answer.continuation)
            if plan_first < 0:  # the plan opens with a word the vocabulary lacks: copy it
                copy = model.size
            if answer.continuation or plan_first < 0:
                plan = list(_encode(model, answer.text))
        else:
            base = model.log_probs(context)
            target = plan[pos] if pos < len(plan) else -1
            local = model._local.get(target, -1) if target >= 0 else EOS
            logits = base.copy()
            if local >= 0:
                logits[local] = _ODDS + np.log1p(-np.exp(base[local]) + 1e-300)
            else:
                copy = model.size
                logits = np.append(logits, _ODDS)
        if tok < 0:
            if plain and step == 0:
                if first_table is not None:
                    tok, lognorm = _plain_draw(first_table, rng, masked=True)
            elif plain:
                tok, lognorm = _plain_step(logits, rng, masked=False)
            if tok < 0:
                view: Mapping[int, int] = counts
                if copy >= 0 and counts:
                    view = {k: v for k, v in counts.items() if k < copy}
                probs = distribution(logits, params, view)
                tok = draw(probs, rng)
                finite = logits[np.isfinite(logits)]
                peak = finite.max()
                lognorm = peak + np.log(np.exp(finite - peak).sum())
            logprob = float(logits[tok] - lognorm)
        top = []
        if top_n:
            logz = logits - lognorm
            best = np.argsort(-logz, kind="stable")[:top_n]
            top = [_entry(model, i, plan[pos] if copy >= 0 else -1, logz) for i in best]
        if tok == EOS:
            end = TokenOut("", b"", logprob, top)
            return TextOut(tokens, [end]), "end", None, step + 1
        if tok == copy:
            raw = model.encoding.decode_single_token_bytes(plan[pos])
            text_ = raw.decode("utf-8", errors="replace")
            tokens.append(TokenOut(text_, raw, logprob, top))
            pos += 1
        else:
            tokens.append(TokenOut(model.token_text(tok), model.token_bytes(tok), logprob, top))
            counts[tok] += 1
            context = [*context[-1:], tok]
            if step == 0 and not answer.continuation:
                plan = _plan_ids(model, answer, model.token_ids[tok])
                pos = 1
            elif step == 0:
                pos = 1 if plan and model.token_ids[tok] == plan[0] else 0
            elif pos < len(plan) and model.token_ids[tok] == plan[pos]:
                pos += 1
            elif pos + 1 < len(plan) and model.token_ids[tok] == plan[pos + 1]:
                pos += 2  # the model skipped the planned token
        if not stops:
            continue
        text += tokens[-1].text
        hit = _stop_hit(tokens, text, stops, step)
        if hit is not None:
            return hit
    return TextOut(tokens), "max_tokens", None, max_tokens


def _plan_loop(
    model: NGramModel,
    plan: list[int],
    pos: int,
    context: list[int],
    tokens: list[TokenOut],
    text: str,
    start: int,
    max_tokens: int,
    stops: list[str],
    rng: np.random.Generator,
) -> tuple[TextOut, StopReason, str | None, int]:
    """:func:`guided_text` from step ``start`` on, for :func:`_plain` parameters without logprobs.

    The same draws and tokens as the general loop, in a loop that does per token only what
    that case needs: one uniform, and the model's distribution only for an off-plan token.
    """
    n_plan = len(plan)
    # one uniform per step; a reply usually ends one step after its plan does
    uniforms = _Uniforms(rng, max_tokens - start, n_plan - pos + 2)
    try:
        local_of, size, ids = model._local, model.size, model.token_ids
        texts, raws = model._strings, model._bytes  # token_text / token_bytes, without the calls
        for step in range(start, max_tokens):
            target = plan[pos] if pos < n_plan else -1
            local = local_of.get(target, -1) if target >= 0 else EOS
            u = uniforms.next()
            if u < PLAN_MASS:
                tok, logprob = (local if local >= 0 else size), _LOG_PLAN
            else:
                tok, logprob = _off_plan(model.log_probs(context), local, u)
            if tok == EOS:
                return TextOut(tokens, [TokenOut("", b"", logprob, [])]), "end", None, step + 1
            if tok == size:  # the copy slot (only a plan token outside the vocabulary reaches it)
                raw = model.encoding.decode_single_token_bytes(plan[pos])
                tokens.append(TokenOut(raw.decode("utf-8", errors="replace"), raw, logprob, []))
                pos += 1
            else:
                tokens.append(TokenOut(texts[tok], raws[tok], logprob, []))
                context = [*context[-1:], tok]
                if pos < n_plan and ids[tok] == plan[pos]:
                    pos += 1
                elif pos + 1 < n_plan and ids[tok] == plan[pos + 1]:
                    pos += 2  # the model skipped the planned token
            if not stops:
                continue
            text += tokens[-1].text
            hit = _stop_hit(tokens, text, stops, step)
            if hit is not None:
                return hit
        return TextOut(tokens), "max_tokens", None, max_tokens
    finally:
        uniforms.close()


class _Uniforms:
    """``rng.random()`` draws taken a block at a time, leaving ``rng`` where the scalar calls
    would have.

    A scalar call costs about as much as a block of dozens (~0.6 us, most of it the call), and
    ``rng.random(n)`` yields the same doubles as n scalar calls (each is one ``next_double``
    of the bit generator). A reply's length is known only at its end, so :meth:`close` puts
    the generator back: it restores the state saved before the last block and redraws the
    part of that block that was used. Blocks after the first hold at most BLOCK draws.
    """

    BLOCK = 32

    def __init__(self, rng: np.random.Generator, limit: int, first: int) -> None:
        self._rng = rng
        self._left = limit  # draws the caller may still ask for
        self._block: list[float] = []
        self._used = 0
        self._saved: Mapping[str, Any] | None = None
        self._refill(max(first, 1))

    def _refill(self, n: int) -> None:
        n = min(n, self._left)
        self._saved = self._rng.bit_generator.state
        self._block = self._rng.random(n).tolist()
        self._used = 0
        self._left -= n

    def next(self) -> float:
        if self._used == len(self._block):
            self._refill(self.BLOCK)
        u = self._block[self._used]
        self._used += 1
        return u

    def close(self) -> None:
        """Rewind ``rng`` to just after the draws :meth:`next` returned."""
        if self._saved is not None and self._used < len(self._block):
            self._rng.bit_generator.state = self._saved
            self._rng.random(self._used)
        self._saved = None


def _off_plan(base: np.ndarray, local: int, u: float) -> tuple[int, float]:
    """The token and log-probability of a uniform ``u >= PLAN_MASS`` at temperature 1.

    The plan token (``local``; -1: the copy slot) has probability exactly PLAN_MASS; any other
    token ``t`` has (1 - PLAN_MASS) * p(t) / (1 - p(plan)), p the model's own distribution
    ``base``: below PLAN_MASS a uniform is the plan token, above it picks among the others by
    inverse CDF (only then is the vocabulary touched), so most tokens cost no array work.
    """
    probs = np.exp(base)
    rest = 1.0
    if local >= 0:
        rest = 1.0 - float(probs[local])
        probs[local] = 0.0
    cumulative = probs.cumsum()
    share = (u - PLAN_MASS) / (1 - PLAN_MASS)
    i = int(cumulative.searchsorted(share * cumulative[-1], side="right"))
    tok = min(i, base.size - 1)
    return tok, float(_LOG_REST + base[tok] - np.log(rest))


_LOG_PLAN = float(np.log(PLAN_MASS))
_ODDS = np.log(PLAN_MASS / (1 - PLAN_MASS))
_LOG_REST = float(np.log1p(-PLAN_MASS))


def _entry(model: NGramModel, i: int, copied: int, logz: np.ndarray) -> tuple[str, bytes, float]:
    """One top_logprobs entry; index ``model.size`` is the copy slot holding ``copied``."""
    if i == model.size:
        raw = model.encoding.decode_single_token_bytes(copied)
        return raw.decode("utf-8", errors="replace"), raw, float(logz[i])
    return model.token_text(i), model.token_bytes(i), float(logz[i])
