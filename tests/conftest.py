"""Shared pytest configuration: the simulator fixtures (``sim``, ``sim_server``)."""

pytest_plugins = ["llmlab.sim.testing"]
