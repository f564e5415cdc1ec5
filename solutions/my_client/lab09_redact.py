"""Your 09.redact, kept by llmlab.check when it passed: edit the notebook, not this file."""

import hashlib
import hmac
import re

CARD = re.compile('(?<![\\d-])\\d(?:[ -]?\\d){12,18}(?![\\d-])', re.NOFLAG)
EMAIL = re.compile('[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}', re.NOFLAG)


def fingerprint(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:12]


def redact(text: str, key: bytes) -> str:
    text = EMAIL.sub(lambda m: f"<email:{fingerprint(m.group().lower(), key)}>", text)
    return CARD.sub(lambda m: f"<card:{fingerprint(re.sub(r'[^0-9]', '', m.group()), key)}>", text)


__llmlab_exercise__ = '09.redact'
__llmlab_name__ = 'redact'
