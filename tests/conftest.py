"""Shared pytest configuration: the simulator fixtures (``sim``, ``sim_server``), and a learner
folder of the tests' own: tests that pass a check must not write ``my_client/`` in the repo."""

import os
import tempfile

os.environ["LLMLAB_MY_CODE"] = tempfile.mkdtemp(prefix="llmlab-tests-my-code-")

pytest_plugins = ["llmlab.sim.testing"]
