"""The learner's own client: their passing pieces of labs 02-10, assembled.

``llmlab.my_pieces()`` gathers the pieces of labs 02-09 (and 10.is_infra_error) the learner
passed, from ``my_client/``; ``llmlab.my_client(**settings)`` builds the ``LLMClient`` they
assembled in lab 10 from the methods they passed there. Wherever the learner has no passing
piece, llmlab's reference stands in, with a one-line note saying so. Settings are those of
:class:`llmlab.reference.client.ClientBase`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["my_client", "my_client_class", "my_pieces"]


def my_pieces() -> dict[str, Any]:
    """Exercise id -> your passing code for each piece the client is built from."""
    from llmlab.check._run import mine
    from llmlab.reference.client import PIECE_IDS

    return {piece: mine(piece) for piece in PIECE_IDS}


def my_client_class(**methods: Any) -> type:
    """``LLMClient`` assembled from your pieces and your lab-10 methods.

    ``methods`` (name -> function, e.g. ``call=call``) are this session's candidates, used if
    they pass their checks; otherwise your kept ones, else llmlab's.
    """
    from llmlab.check._run import mine
    from llmlab.reference.client import METHOD_IDS, ClientBase

    body: dict[str, Any] = {"pieces": my_pieces()}
    for exercise_id, name in METHOD_IDS.items():
        body[name] = mine(exercise_id, methods.get(name))
    body["__doc__"] = "Your LLMClient: your pieces of labs 02-09, your methods of lab 10."
    return type("LLMClient", (ClientBase,), body)


def my_client(**settings: Any) -> Any:
    """Your lab-10 ``LLMClient`` built with ``settings`` (llmlab's code where yours is missing)."""
    from llmlab.check._persist import my_code_dir, path_for
    from llmlab.reference.client import METHOD_IDS, LLMClient

    if not any(path_for(exercise_id).is_file() for exercise_id in METHOD_IDS):
        print(
            f"(note: using llmlab's reference LLMClient: none of your lab-10 methods is kept in "
            f"{my_code_dir().name}/ yet)"
        )
        return LLMClient(**settings)
    return my_client_class()(**settings)
