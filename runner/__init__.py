"""api-mcp-test: test a Python API through generated MCP tools.

The pipeline, one module per stage:
context -> repo -> discovery -> mcpgen -> servers -> agent -> checks -> report -> publish.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "RepoManager": "runner.repo",
    "APIDiscoveryService": "runner.discovery",
    "MCPGenerator": "runner.mcpgen",
    "DynamicServerManager": "runner.servers",
    "DynamicBackendOrchestrator": "runner.orchestrator",
}

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
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(name)
