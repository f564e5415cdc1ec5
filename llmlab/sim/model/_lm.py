"""A small interpolated trigram language model: the "LLM" behind both simulated providers.

It is trained at first use on the course corpus (``data/corpus/*.md``) over a real tiktoken
vocabulary, so its next-token distributions are genuine: temperature, top-p, top-k and
penalties change its output exactly as the course teaches, and logprobs report them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tiktoken

from llmlab._paths import data_dir

EOS = 0  # model-local id of the end-of-reply token; every paragraph of the corpus ends with it
_LAMBDAS = (0.55, 0.30, 0.15)  # trigram, bigram, unigram interpolation weights
_ADD_K = 0.01  # smoothing that gives every vocabulary token some probability
# memoised next-token distributions per tokenizer (about 14 KB each, so at most ~14 MB); the
# simulator's time goes to tokenising prompts, and 4096 entries were no faster than 1024
_MEMO_SIZE = 1024


@dataclass(frozen=True)
class _Tables:
    """The interpolation's terms, each weighted once here instead of on every memo miss.

    ``tri[(a, b)]`` holds (next-token ids, 0.55 * count / total); ``bi[b]`` holds (ids,
    0.30 * count / total, 0.55 * (count / total)), the last for a trigram context the corpus
    never saw. Every array equals what the interpolation computed per lookup before (the same
    operations in the same order), so distributions are bit-identical; building them per
    lookup was most of a memo miss, and a miss is most of a token's cost.
    """

    tri: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]
    bi: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]
    uni_low: np.ndarray  # 0.15 * unigram probabilities
    uni: np.ndarray


class NGramModel:
    """Next-token logits over a closed vocabulary drawn from the corpus.

    Model-local ids index ``self.token_ids`` (the tiktoken ids); local id 0 is end-of-reply.
    """

    def __init__(self, encoding_name: str, paragraphs: Sequence[str]) -> None:
        self.encoding = tiktoken.get_encoding(encoding_name)
        encoded = [self.encoding.encode(p) for p in paragraphs]
        vocab = sorted({t for seq in encoded for t in seq})
        self.token_ids: list[int] = [-1, *vocab]
        self._local = {tid: i for i, tid in enumerate(self.token_ids)}
        self.size = len(self.token_ids)
        a, b, c = _trigrams(encoded, np.array(vocab, dtype=np.int64))
        counts = _ADD_K + np.bincount(c, minlength=self.size).astype(np.float64)
        unigram = counts / counts.sum()
        n = self.size
        spans, (ids, tri_w) = _rows(a * n + b, c, n, (_LAMBDAS[0],))
        bi_spans, (bi_ids, bi_w, bi_backoff) = _rows(b, c, n, (_LAMBDAS[1], _LAMBDAS[0]))
        self._tables = _Tables(
            tri={(k // n, k % n): (ids[i:j], tri_w[i:j]) for k, i, j in spans},
            bi={k: (bi_ids[i:j], bi_w[i:j], bi_backoff[i:j]) for k, i, j in bi_spans},
            uni_low=_frozen(_LAMBDAS[2] * unigram),
            uni=_frozen(unigram),
        )
        self._strings = [self._token_text(i) for i in range(self.size)]
        self._bytes = [self._token_bytes(i) for i in range(self.size)]
        self._memo: dict[tuple[int, int], np.ndarray] = {}

    # -- vocabulary -------------------------------------------------------------------------
    def _token_text(self, local: int) -> str:
        if local == EOS:
            return ""
        return self.encoding.decode_single_token_bytes(self.token_ids[local]).decode(
            "utf-8", errors="replace"
        )

    def token_text(self, local: int) -> str:
        """The text of one model-local token ('' for end-of-reply)."""
        return self._strings[local]

    def _token_bytes(self, local: int) -> bytes:
        if local == EOS:
            return b""
        return self.encoding.decode_single_token_bytes(self.token_ids[local])

    def token_bytes(self, local: int) -> bytes:
        """The bytes of one model-local token (b'' for end-of-reply)."""
        return self._bytes[local]

    def to_local(self, tiktoken_ids: Sequence[int]) -> list[int]:
        """Map tiktoken ids into the model's vocabulary, dropping ids it never saw."""
        return [self._local[t] for t in tiktoken_ids if t in self._local]

    def contains(self, local: int) -> bool:
        return 0 <= local < self.size

    # -- the model --------------------------------------------------------------------------
    def log_probs(self, context: Sequence[int]) -> np.ndarray:
        """Natural-log next-token probabilities given the model-local context (read-only array).

        Distributions are memoised per (previous two tokens): decoding revisits the same
        contexts constantly, and recomputing the interpolation dominated the simulator's cost.
        """
        a, b = (EOS, EOS) if len(context) < 2 else (context[-2], context[-1])
        if len(context) == 1:
            b = context[-1]
        key = (a, b)
        cached = self._memo.get(key)
        if cached is None:
            if len(self._memo) >= _MEMO_SIZE:
                del self._memo[next(iter(self._memo))]  # the oldest entry
            cached = self._compute(a, b)
            cached.setflags(write=False)
            self._memo[key] = cached
        return cached

    def _compute(self, a: int, b: int) -> np.ndarray:
        t = self._tables
        bi = t.bi.get(b)
        if bi is None:  # an unseen context (no trigram either): unigram only
            probs = t.uni_low + _LAMBDAS[1] * t.uni
            probs = probs + _LAMBDAS[0] * t.uni
        else:
            probs = t.uni_low.copy()
            probs[bi[0]] += bi[1]
            tri = t.tri.get((a, b))
            if tri is not None:
                probs[tri[0]] += tri[1]
            else:  # back off to the bigram for the trigram's share
                probs[bi[0]] += bi[2]
        logp: np.ndarray = np.log(probs / probs.sum())
        return logp


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _starts(lengths: np.ndarray) -> np.ndarray:
    """Where each of consecutive runs of these lengths begins."""
    return np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)


def _trigrams(
    encoded: Sequence[Sequence[int]], vocab: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (a, b, c) model-local trigram of the paragraphs, in corpus order.

    Each paragraph is framed as ``EOS EOS tokens... EOS`` (L + 3 slots, L + 1 trigrams); no
    trigram spans two paragraphs.
    """
    lengths = np.fromiter((len(seq) for seq in encoded), dtype=np.int64, count=len(encoded))
    ids = np.fromiter((t for seq in encoded for t in seq), dtype=np.int64, count=int(lengths.sum()))
    frame = _starts(lengths + 3)
    framed = np.full(int((lengths + 3).sum()), EOS, dtype=np.int64)
    framed[np.arange(ids.size) + np.repeat(frame + 2 - _starts(lengths), lengths)] = (
        np.searchsorted(vocab, ids) + 1
    )
    windows = lengths + 1
    at = np.arange(int(windows.sum())) + np.repeat(frame - _starts(windows), windows)
    return framed[at], framed[at + 1], framed[at + 2]


def _rows(
    context: np.ndarray, nxt: np.ndarray, size: int, lambdas: tuple[float, ...]
) -> tuple[list[tuple[int, int, int]], list[np.ndarray]]:
    """(context, begin, end) per context, and the columns (next-token ids, *weights) of all
    rows end to end, read-only: slicing ``begin:end`` out of each column gives a context's row.

    Contexts, and next tokens within a context, come in order of first appearance (what
    counting with Counters gave). The weights are ``lambdas[0] * count / total`` then
    ``lambdas[i] * (count / total)``: the per-row expressions of the Counter version, evaluated
    elementwise over all rows at once, so every value is bit-identical.
    """
    pairs, pair_first, pair_counts = np.unique(
        context * size + nxt, return_index=True, return_counts=True
    )
    contexts, ctx_first = np.unique(context, return_index=True)
    by_first = np.argsort(ctx_first, kind="stable")
    ctx_rank = np.empty(contexts.size, dtype=np.int64)
    ctx_rank[by_first] = np.arange(contexts.size)
    rank = ctx_rank[np.searchsorted(contexts, pairs // size)]
    order = np.lexsort((pair_first, rank))
    counts = pair_counts[order]
    widths = np.bincount(rank, minlength=contexts.size)
    begins = _starts(widths)
    totals = np.repeat(np.add.reduceat(counts, begins), widths)
    values = counts.astype(np.float64)
    cols = [pairs[order] % size, lambdas[0] * values / totals]
    cols += [lam * (values / totals) for lam in lambdas[1:]]
    keys, ends = contexts[by_first].tolist(), (begins + widths).tolist()
    spans = list(zip(keys, begins.tolist(), ends, strict=True))
    return spans, [_frozen(col) for col in cols]


def corpus_paragraphs() -> list[str]:
    """The corpus split into paragraphs; markdown headings and list markers are dropped."""
    paragraphs: list[str] = []
    for path in sorted((data_dir() / "corpus").glob("*.md")):
        for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            lines = [ln.strip() for ln in block.splitlines() if not ln.lstrip().startswith("#")]
            text = " ".join(re.sub(r"^([-*]|\d+\.)\s+", "", ln) for ln in lines if ln)
            if len(text) >= 20:
                paragraphs.append(text)
    if not paragraphs:
        raise FileNotFoundError(f"no corpus paragraphs under {data_dir() / 'corpus'}")
    return paragraphs


def training_paragraphs() -> list[str]:
    """What the model is trained on: the corpus, each corpus sentence again on its own (so every
    sentence start is also a reply start), and ``data/replies.md`` (how replies open)."""
    corpus = corpus_paragraphs()
    sentences = [s for p in corpus for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", p) if len(s) >= 20]
    replies = (data_dir() / "replies.md").read_text(encoding="utf-8").split("\n\n")[2:]
    return [*corpus, *sentences, *(r.strip() for r in replies if r.strip())]


@functools.cache
def model_for(encoding_name: str) -> NGramModel:
    """The shared model for one tokenizer, trained once per process (with the planner's corpus
    index, so a process's first prose reply costs no more than its first structured one)."""
    from llmlab.sim.model._planner import corpus_index  # the planner imports this module

    corpus_index()
    return NGramModel(encoding_name, training_paragraphs())
