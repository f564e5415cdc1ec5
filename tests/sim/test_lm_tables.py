"""The language model's vectorised tables equal what plain Counter counting gives, bit for bit.

The tables are built with numpy for speed (issue 18); seeded replies depend on every row's order
and every weight's exact value, so this pins them against the straightforward version.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from llmlab.sim.model._lm import _ADD_K, _LAMBDAS, EOS, NGramModel, training_paragraphs


def _reference(model: NGramModel, paragraphs: list[str]) -> tuple[dict, dict, np.ndarray]:
    """tri, bi and unigram rows counted one trigram at a time with Counters."""
    tri: dict[tuple[int, int], Counter[int]] = defaultdict(Counter)
    bi: dict[int, Counter[int]] = defaultdict(Counter)
    uni: Counter[int] = Counter()
    for p in paragraphs:
        local = [EOS, EOS, *model.to_local(model.encoding.encode(p)), EOS]
        for a, b, c in zip(local, local[1:], local[2:], strict=False):
            tri[(a, b)][c] += 1
            bi[b][c] += 1
            uni[c] += 1
    counts = np.full(model.size, _ADD_K)
    for tok, n in uni.items():
        counts[tok] += n

    def row(counter: Counter[int]) -> tuple[np.ndarray, np.ndarray, int]:
        ids = np.fromiter(counter.keys(), dtype=np.int64, count=len(counter))
        values = np.fromiter(counter.values(), dtype=np.float64, count=len(counter))
        return ids, values, sum(counter.values())

    tri_rows = {}
    for key, counter in tri.items():
        ids, values, total = row(counter)
        tri_rows[key] = (ids, _LAMBDAS[0] * values / total)
    bi_rows = {}
    for key, counter in bi.items():
        ids, values, total = row(counter)
        bi_rows[key] = (ids, _LAMBDAS[1] * values / total, _LAMBDAS[0] * (values / total))
    return tri_rows, bi_rows, counts / counts.sum()


def _same(got: tuple[np.ndarray, ...], want: tuple[np.ndarray, ...]) -> bool:
    return len(got) == len(want) and all(
        g.dtype == w.dtype and g.tobytes() == w.tobytes() and not g.flags.writeable
        for g, w in zip(got, want, strict=True)
    )


@pytest.mark.parametrize("encoding", ["cl100k_base", "o200k_base"])
@pytest.mark.parametrize("corpus", ["training", "tiny"])
def test_tables_equal_counter_counting(encoding: str, corpus: str) -> None:
    paragraphs = training_paragraphs() if corpus == "training" else ["", "a a a", "the cat. The"]
    model = NGramModel(encoding, paragraphs)
    tri, bi, unigram = _reference(model, paragraphs)
    tables = model._tables
    assert list(tables.tri) == list(tri)  # same contexts, in the same order
    assert list(tables.bi) == list(bi)
    assert all(_same(tables.tri[k], tri[k]) for k in tri)
    assert all(_same(tables.bi[k], bi[k]) for k in bi)
    assert tables.uni.tobytes() == unigram.tobytes()
    assert tables.uni_low.tobytes() == (_LAMBDAS[2] * unigram).tobytes()
