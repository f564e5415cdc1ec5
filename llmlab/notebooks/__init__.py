"""The ``solutions/`` -> ``labs/`` build step (``python -m llmlab.notebooks build|check``)."""

from llmlab.notebooks.build import (
    DEFAULT_STUB,
    MARKDOWN_STUB,
    SOLUTION_ONLY_TAG,
    build,
    lab_source,
    render_lab,
    stale_labs,
)

__all__ = [
    "DEFAULT_STUB",
    "MARKDOWN_STUB",
    "SOLUTION_ONLY_TAG",
    "build",
    "lab_source",
    "render_lab",
    "stale_labs",
]
