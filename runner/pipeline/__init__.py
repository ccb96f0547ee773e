"""The pipeline as typed stages, one module each, in the order run.py gives them:

    source (repo) -> install (install, setup) -> spec (discovery, served spec) -> generate
    (mcpgen) -> serve (app, servers) -> credentials -> exercise (agent) -> judge (checks)
    -> base (baseline) -> reports

driver.py keeps what must survive a failure (the report, the processes, the workspace) and
times, bounds, masks and cleans up every stage; choices.py holds the agent-choice rules.
`run_pipeline` is the one entry point of every face (CLI, action, Python API).
"""

from __future__ import annotations

from runner.pipeline.run import Until, run_pipeline

__all__ = ["Until", "run_pipeline"]
