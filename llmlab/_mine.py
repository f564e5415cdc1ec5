"""The learner's own client, for the notebooks after lab 10 (Part II).

``llmlab.my_client(**settings)`` builds the ``LLMClient`` the learner assembled in lab 10,
from their own passing code; until that exists, llmlab's reference client stands in, with a
one-line note saying so. Settings are those of :class:`llmlab.reference.client.LLMClient`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["my_client"]


def my_client(**settings: Any) -> Any:
    """Your lab-10 ``LLMClient`` built with ``settings`` (the reference until yours passes)."""
    from llmlab.reference.client import LLMClient

    print("(note: using llmlab's reference LLMClient until your lab 10 client passes its checks)")
    return LLMClient(**settings)
