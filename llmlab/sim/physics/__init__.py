"""Physics: the simulated world every wire format shares (clock, latency, prompt cache and its
diagnostics, rate limits, faults, billing). Below the engine; depends on no wire format."""
