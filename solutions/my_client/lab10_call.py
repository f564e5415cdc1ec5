"""Your 10.call, kept by llmlab.check when it passed: edit the notebook, not this file."""

import llmlab


async def call(self, request, *, tools=None, schema=None, on_text=None):
    errors, attempts = {}, 0
    for provider in self.order:
        params = self.params(provider, request, tools, schema)
        tokens_in, worst_usd = self.estimate_call(provider, params)  # the estimate before
        breaker = self.breakers[provider]
        for n in range(self.max_attempts):
            with self.admitted(provider, request, worst_usd):
                try:
                    breaker.before_call()
                except llmlab.CircuitOpenError as exc:
                    errors[provider] = exc
                    break  # fail over now: waiting would only queue behind the outage
                attempts += 1
                attempt = self.new_attempt(provider, request, tokens_in)
                try:
                    await self.send(attempt, params, on_text)
                except Exception as exc:
                    self.record(attempt, exc)
                    if not self.is_infra(exc):
                        breaker.record_success()  # the provider is up; the request is wrong
                        raise
                    breaker.record_failure()
                    errors[provider] = exc
                else:
                    breaker.record_success()
                    return self.result(attempt, self.record(attempt), attempts)
            wait = self.next_wait(errors[provider], n)
            if wait is None or n == self.max_attempts - 1:
                break
            await self.sleep(wait)
    raise llmlab.ProviderUnavailableError(f"every provider failed: {sorted(errors)}", errors)


__llmlab_exercise__ = '10.call'
__llmlab_name__ = 'call'
