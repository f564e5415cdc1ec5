"""Your 10.is_infra_error, kept by llmlab.check when it passed: edit the notebook, not this file."""

import anthropic
import llmlab
import openai
from llmlab.reference.retry import error_type
from llmlab.reference.retry import is_retryable
from llmlab.sim import sdk_http

STREAM_ERROR_TYPES = {'api_error', 'overloaded_error', 'rate_limit_error', 'server_error', 'timeout_error'}
http = sdk_http("anthropic")


def is_infra_error(exc):
    if isinstance(exc, llmlab.CircuitOpenError | http.TransportError):
        return True
    if is_retryable(exc):  # lab 07: connection errors, timeouts, 408/409/429 (not quota), 5xx
        return True
    in_stream = getattr(exc, "status_code", None) in (None, 200)
    sdk_error = isinstance(exc, anthropic.APIError | openai.APIError)
    return sdk_error and in_stream and error_type(exc) in STREAM_ERROR_TYPES


__llmlab_exercise__ = '10.is_infra_error'
__llmlab_name__ = 'is_infra_error'
