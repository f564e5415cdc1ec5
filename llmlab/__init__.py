"""llmlab: a Jupyter lab for building a disciplined LLM client against the real SDKs, offline.

A notebook starts with ``sim = llmlab.setup(seed=0)``; exercises are checked with
``llmlab.check("01.softmax", softmax)``; a passing answer is kept in ``my_client/``, and
``llmlab.mine(id)``, ``llmlab.my_pieces()`` and ``llmlab.my_client()`` bring it back.
"""

from llmlab._offline import ensure_tiktoken_offline

ensure_tiktoken_offline()  # before anything can load a tiktoken encoding

from llmlab._exceptions import (  # noqa: E402
    BudgetExceededError,
    CircuitOpenError,
    DataFileError,
    ExerciseError,
    LedgerWriteWarning,
    LlmlabError,
    NotebookBuildError,
    PricingError,
    ProviderUnavailableError,
    SimulatorError,
    StreamInterruptedError,
    StructuredOutputError,
)
from llmlab._live import is_live, simulator_only  # noqa: E402
from llmlab._mine import my_client, my_pieces  # noqa: E402
from llmlab._paths import data_dir  # noqa: E402
from llmlab._setup import RunCost, run_cost, setup  # noqa: E402
from llmlab.check import CheckResult, check, mine, solution_or_reference  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BudgetExceededError",
    "CheckResult",
    "CircuitOpenError",
    "DataFileError",
    "ExerciseError",
    "LedgerWriteWarning",
    "LlmlabError",
    "NotebookBuildError",
    "PricingError",
    "ProviderUnavailableError",
    "RunCost",
    "SimulatorError",
    "StreamInterruptedError",
    "StructuredOutputError",
    "__version__",
    "check",
    "data_dir",
    "ensure_tiktoken_offline",
    "is_live",
    "mine",
    "my_client",
    "my_pieces",
    "run_cost",
    "setup",
    "simulator_only",
    "solution_or_reference",
]
