"""Exceptions raised by llmlab itself (the SDKs' own errors pass through untouched).

Hierarchy (httpx style: catch ``LlmlabError`` to catch anything llmlab raises)::

    LlmlabError
    ├── PricingError          unknown model/provider in the bundled price snapshot
    ├── DataFileError         a file shipped under data/ is missing or corrupted
    ├── NotebookBuildError    solutions/ -> labs/ build found malformed solution markers
    ├── SimulatorError        the simulator was configured or driven wrongly (API errors are
    │                         not this: they reach learners as the SDKs' own typed exceptions)
    ├── CircuitOpenError      a circuit breaker refused a call while open
    ├── BudgetExceededError   a tenant's budget refused a call before it was made
    ├── StructuredOutputError the model's output never validated within the allowed attempts
    ├── ProviderUnavailableError every provider failed (or was open) for one client call
    ├── StreamInterruptedError a stream failed after its text reached the caller (no retry)
    ├── ExerciseError         an exercise id is unknown or a candidate has the wrong shape
    └── LedgerWriteWarning    a warning, not raised: a ledger row could not be written (the
                              call's response is returned anyway; the row is in the log)
"""

from __future__ import annotations

__all__ = [
    "BudgetExceededError",
    "CircuitOpenError",
    "DataFileError",
    "ExerciseError",
    "LedgerWriteWarning",
    "LlmlabError",
    "NotebookBuildError",
    "PricingError",
    "ProviderUnavailableError",
    "SimulatorError",
    "StreamInterruptedError",
    "StructuredOutputError",
]


class LlmlabError(Exception):
    """Base class of every exception llmlab raises; never raised directly."""


class PricingError(LlmlabError):
    """Raised by ``llmlab.pricing`` when a model or provider is not in the price snapshot."""


class DataFileError(LlmlabError):
    """Raised when a file the lab ships under ``data/`` is missing or fails its hash check."""


class NotebookBuildError(LlmlabError):
    """Raised by ``llmlab.notebooks`` when a solution notebook has unbalanced markers."""


class SimulatorError(LlmlabError):
    """Raised when the simulator is configured or driven wrongly (bad fault plan, unknown model)."""


class CircuitOpenError(LlmlabError):
    """Raised by a circuit breaker's ``before_call()`` while open: fail fast, send nothing."""


class BudgetExceededError(LlmlabError):
    """Raised when a call would take a tenant over its budget; no request was sent."""


class StructuredOutputError(LlmlabError):
    """Raised when the model's output still fails validation after the allowed attempts."""


class StreamInterruptedError(LlmlabError):
    """Raised by ``LLMClient.stream`` when a stream fails after its text reached the caller: a
    retry would show that text twice. The original error is its ``__cause__``."""


class ProviderUnavailableError(LlmlabError):
    """Raised by ``LLMClient`` when every provider failed or was open; ``.errors`` says why."""

    def __init__(self, message: str, errors: dict[str, BaseException] | None = None) -> None:
        super().__init__(message)
        self.errors = dict(errors or {})


class ExerciseError(LlmlabError):
    """Raised by ``llmlab.check`` for an unknown exercise id or a candidate of the wrong kind."""


class LedgerWriteWarning(LlmlabError, UserWarning):
    """Warned (not raised) when a ledger row could not be written; the response is kept."""
