"""Redaction at the logging boundary: e-mails and card numbers become keyed fingerprints.

A keyed HMAC (not a bare hash) keeps correlation ("the same customer again") without letting
anyone who reads the logs confirm a guessed value: without the key, a fingerprint proves nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re

__all__ = ["CARD_RE", "EMAIL_RE", "fingerprint", "redact"]

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
"""An e-mail address (pragmatic, not RFC 5322: good enough to keep addresses out of logs)."""

CARD_RE = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
"""13-19 digits, optionally grouped by single spaces or dashes: a payment card number. Not
inside a longer word: a UUID such as a trace id (``96931173-9068-4c67-…``) is no card."""


def fingerprint(value: str, key: bytes, *, length: int = 12) -> str:
    """HMAC-SHA256 of ``value`` under ``key`` (hex, truncated): stable per key, useless without."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:length]


def redact(text: str, key: bytes) -> str:
    """Replace e-mails with ``<email:fp>`` and card numbers with ``<card:fp>``; keep other text.

    E-mails are lower-cased and cards reduced to their digits before fingerprinting, so the
    same address or card correlates however it was written. No digit of a card survives.
    """
    text = EMAIL_RE.sub(lambda m: f"<email:{fingerprint(m.group().lower(), key)}>", text)
    return CARD_RE.sub(
        lambda m: f"<card:{fingerprint(re.sub(r'[^0-9]', '', m.group()), key)}>", text
    )
