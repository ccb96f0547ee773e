"""The generated tools' registry: a FastMCP provider that finds a tool by name in one lookup."""

from __future__ import annotations

from typing import Any

from fastmcp.server.providers import Provider
from fastmcp.tools import Tool
from fastmcp.utilities.versions import VersionSpec
from mcp_types import ToolAnnotations


class ToolIndex(Provider):
    """The generated tools, found by name in one dict lookup.

    FastMCP's own store (LocalProvider) scans every registered component on each call and on
    each registration: with 500 tools a call costs ~2x one with 11, and 5,000 tools take
    minutes to register. Tools here are plain FastMCP tools (`Tool.from_function`, as
    `@mcp.tool` builds them), unversioned and unique by name."""

    def __init__(self) -> None:
        super().__init__()
        self._tools: dict[str, Tool] = {}

    def tool(self, fn: Any = None, **options: Any) -> Any:
        """`@index.tool` or `@index.tool(name=..., annotations=...)`, as `@mcp.tool`."""
        if isinstance(options.get("annotations"), dict):
            options["annotations"] = ToolAnnotations(**options["annotations"])

        def register(function: Any) -> Any:
            tool = Tool.from_function(function, **options)
            if tool.name in self._tools:
                raise ValueError(f"two tools are named {tool.name!r}")
            self._tools[tool.name] = tool
            return function

        return register if fn is None else register(fn)

    async def _list_tools(self) -> list[Tool]:
        return list(self._tools.values())

    async def _get_tool(self, name: str, version: VersionSpec | None = None) -> Tool | None:
        tool = self._tools.get(name)
        if tool is None or (version is not None and not version.matches(tool.version)):
            return None
        return tool
