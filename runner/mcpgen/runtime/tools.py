"""The generated tools' registry: a FastMCP provider that registers a tool without building a
pydantic model for it and finds it by name in one lookup."""

from __future__ import annotations

import inspect
import logging
from typing import Any

from fastmcp.exceptions import ValidationError
from fastmcp.server.providers import Provider
from fastmcp.tools import FunctionTool, Tool, ToolResult
from fastmcp.utilities.tasks import TaskConfig
from fastmcp.utilities.types import get_cached_typeadapter
from fastmcp.utilities.versions import VersionSpec
from mcp_types import ToolAnnotations
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from .schema import schemas


class OperationTool(FunctionTool):
    """A FastMCP function tool whose schema was read from its signature (see `schema`) and whose
    argument validator is built at its first call, then kept: FastMCP's own tool builds both
    when it is registered, and a validator again on every call."""

    _adapter: TypeAdapter[Any] | None = None

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        if self._adapter is None:
            self._adapter = get_cached_typeadapter(self.fn)
        try:
            result = self._adapter.validate_python(arguments)
        except PydanticValidationError as exc:  # a bad call, as FastMCP reports it
            raise ValidationError(str(exc), log_level=logging.WARNING) from exc
        if inspect.isawaitable(result):
            result = await result
        return self.convert_result(result)


class ToolIndex(Provider):
    """The generated tools, found by name in one dict lookup.

    FastMCP's own store (LocalProvider) scans every registered component on each call and on
    each registration: with 500 tools a call costs ~2x one with 11, and 5,000 tools take
    minutes to register. Tools here are FastMCP function tools, unversioned and unique by name:
    an `OperationTool` for a generated signature, else `Tool.from_function` (as `@mcp.tool`)."""

    def __init__(self) -> None:
        super().__init__()
        self._tools: dict[str, Tool] = {}

    def tool(self, fn: Any = None, **options: Any) -> Any:
        """`@index.tool` or `@index.tool(name=..., annotations=...)`, as `@mcp.tool`."""
        if isinstance(options.get("annotations"), dict):
            options["annotations"] = ToolAnnotations(**options["annotations"])

        def register(function: Any) -> Any:
            tool = self._build(function, options)
            if tool.name in self._tools:
                raise ValueError(f"two tools are named {tool.name!r}")
            self._tools[tool.name] = tool
            return function

        return register if fn is None else register(fn)

    def _build(self, function: Any, options: dict[str, Any]) -> Tool:
        found = (schemas(function) if inspect.iscoroutinefunction(function)
                 and set(options) <= {"name", "annotations"} else None)
        if found is None:
            return Tool.from_function(function, **options)
        parameters, output = found
        return OperationTool(
            fn=function, return_type=function.__annotations__.get("return"),
            name=options.get("name") or function.__name__,
            description=inspect.cleandoc(function.__doc__ or "") or None,
            parameters=parameters, output_schema=output,
            annotations=options.get("annotations"), tags=set(),
            task_config=TaskConfig(mode="forbidden"),
        )

    async def _list_tools(self) -> list[Tool]:
        return list(self._tools.values())

    async def _get_tool(self, name: str, version: VersionSpec | None = None) -> Tool | None:
        tool = self._tools.get(name)
        if tool is None or (version is not None and not version.matches(tool.version)):
            return None
        return tool
