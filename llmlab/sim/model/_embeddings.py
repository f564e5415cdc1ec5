"""The simulated embedding model: deterministic vectors whose similarity tracks meaning.

A text becomes a bag of features: its content words (stop words dropped), each stemmed
("retries" -> "retri", "delayed" -> "delay") and mapped through synonym groups written for the
course's corpus (``log in``, ``sign in`` and ``login`` are one feature; so are ``refund`` and
``money back``), plus the pairs of neighbouring content words (so "retry the payment" and
"refund the payment" differ by more than one word). Each feature is weighted (1 + log tf)
and points along its own fixed random direction (a Gaussian drawn from a hash of the model
id and the feature); the weighted sum, normalised, is the embedding. Two texts' cosine
similarity is then, up to the noise of random directions, the weighted overlap of their
features: paraphrases score high, different questions that share words score in between,
unrelated ones near zero. Nothing depends on the simulator's seed: like a real model, the
same text always embeds to the same vector.

``dimensions`` shortens a vector the way text-embedding-3 does: the first ``d`` coordinates,
renormalised (each direction is drawn coordinate by coordinate, so a prefix is a projection).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections import Counter

import numpy as np

_STOP = frozenset(
    re.findall(
        r"\S+",
        """a an the and or but if of to in on at by for with from into onto over under about as is
    are was were be been being am do does did doing have has had having i me my mine we our us
    you your yours he she it its they them their this that these those there here what which who
    whom whose when where why how can could would should will shall may might must please just
    so than then too very also any some all no not only own same such more most other again
    up down out off once s t ve ll d m re hi hello thanks thank get got""",
    )
)
# the word "down" is a stop word above, but "is down" means an outage: kept as a phrase
_PHRASES = [
    (r"\blog(?:ging|ged)? ?in\b|\bsign(?:ing|ed)? ?in\b|\bsignin\b", " login "),
    (r"\bmoney back\b", " refund "),
    (r"\b(?:is|are|went|goes|go|was|been) down\b", " outage "),
    (r"\btime ?outs?\b|\btimed out\b", " timeout "),
    (r"\bhow long\b", " duration "),
    (r"\bdouble[- ]charged\b|\bcharged twice\b", " duplicat charg "),
    (r"\bapi[- ]keys?\b", " apikey "),
    (r"\b429s?\b|\brate[- ]limit(?:ed|ing|s)?\b|\bthrottl\w*", " ratelimit "),
    (r"\b5\d\d\b", " error "),
]
#: synonym groups: every stem in a group becomes the group's first stem
_GROUPS = [
    "password passcod passphras credenti",
    "reset recov forgot forgotten",
    "refund reimburs",
    "login authent sso",
    "outage unavail offlin broken",
    "slow latenc sluggish lag",
    "delay late wait",
    "error failur fail",
    "declin reject",
    "retri retry again reattempt",
    "pay payment charg card",
    "order purchas",
    "cancel abort",
    "invoic receipt bill",
    "download export",
    "address locat",
    "ship deliveri deliv",
    "email mail inbox",
    "confirm confirmat",
    "account profil",
    "delet remov close",
    "team colleagu teammat seat",
    "add invit",
    "user member",
    "rotat regener renew",
    "statu incid",
    "custom shopper client",
    "help assist support",
    "chang updat modifi edit",
    "arriv receiv",
    "duration long",
]


def _stem(word: str) -> str:
    """A crude, deterministic suffix stripper: enough to join "retries" with "retry"."""
    for suffix in ("ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ed", "es"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


@functools.cache
def _canonical() -> dict[str, str]:
    out: dict[str, str] = {}
    for group in _GROUPS:
        stems = group.split()
        for stem in stems:
            out.setdefault(stem, stems[0])
    return out


def features(text: str) -> Counter[str]:
    """The weighted features of ``text``: canonical content stems and neighbouring pairs."""
    low = " " + text.lower() + " "
    for pattern, replacement in _PHRASES:
        low = re.sub(pattern, replacement, low)
    words = re.findall(r"[a-z0-9]+", low)
    canon = _canonical()
    stems = [canon.get(s, s) for s in (_stem(w) for w in words if w not in _STOP)]
    if not stems:  # a text of stop words only still embeds (and differs from another)
        stems = words or ["<empty>"]
    bag: Counter[str] = Counter(stems)
    for left, right in zip(stems, stems[1:], strict=False):
        if left != right:
            bag["|".join(sorted((left, right)))] += 1
    return bag


def _direction(model: str, feature: str, dims: int) -> np.ndarray:
    digest = hashlib.blake2b(f"{model}\x00{feature}".encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little")).standard_normal(dims)


def embed(text: str, model: str, dims: int) -> np.ndarray:
    """The unit-length embedding of ``text`` by ``model`` in its native ``dims`` dimensions."""
    vec = np.zeros(dims)
    for feature, count in features(text).items():
        pair = "|" in feature
        weight = (0.5 if pair else 1.0) * (1.0 + math.log(count))
        vec += weight * _direction(model, feature, dims)
    return vec / np.linalg.norm(vec)


def shorten(vec: np.ndarray, dims: int) -> np.ndarray:
    """The first ``dims`` coordinates, renormalised (text-embedding-3's ``dimensions``)."""
    head = vec[:dims]
    norm = float(np.linalg.norm(head))
    return head / norm if norm > 0 else head
