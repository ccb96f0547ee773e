"""api-mcp-test: test a Python API through generated MCP tools.

The pipeline, one module per stage (runner/pipeline/): repo -> install -> discovery -> mcpgen
-> credentials -> servers -> agent -> checks -> report; the CLI (runner/cli.py) and the action
(entrypoint.py) run it, then publish.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# The names users wrote code against: one facade module (runner/orchestrator.py) over the
# pipeline (runner/pipeline/).
_FACADE = "runner.orchestrator"
_PUBLIC = ("RepoManager", "APIDiscoveryService", "MCPGenerator", "DynamicServerManager",
           "DynamicBackendOrchestrator")

__all__ = [
    "APIDiscoveryService",
    "DynamicBackendOrchestrator",
    "DynamicServerManager",
    "MCPGenerator",
    "RepoManager",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # Lazy, so `import runner` stays cheap (the CLI's --help does not import fastmcp).
    if name in _PUBLIC:
        return getattr(importlib.import_module(_FACADE), name)
    raise AttributeError(name)
