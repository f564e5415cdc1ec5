"""Adapters: how requests reach the engine (the SDKs' httpx / httpx2 transports in-process, ASGI
for ``python -m llmlab.sim serve``), each playing the engine's paced response back its own way."""
