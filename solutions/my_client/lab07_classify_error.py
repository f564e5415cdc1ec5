"""Your 07.classify_error, kept by llmlab.check when it passed: edit the notebook, not this file."""


def classify_error(status: int, error_type: str = "") -> str:
    """Return "retry" for transient failures, "fail" for everything else."""
    if error_type in ("insufficient_quota", "billing_error"):
        return "fail"
    if status in (408, 409, 429) or status >= 500:
        return "retry"
    return "fail"


__llmlab_exercise__ = '07.classify_error'
__llmlab_name__ = 'classify_error'
