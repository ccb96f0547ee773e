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
from fastmcp.utilities.versions import VersionSpec
from mcp_types import ToolAnnotations
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import SchemaValidator

from .schema import Signature, signature


class OperationTool(FunctionTool):
    """A FastMCP function tool whose schemas were read from its signature (see `schema`) and
    whose argument validator is built at its first call, then kept: FastMCP's own tool builds a
    pydantic model when it is registered, and another on every call."""

    _signature: Signature | None = None
    _validator: SchemaValidator | None = None

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        if self._validator is None:
            assert self._signature is not None
            self._validator = self._signature.validator(self.fn)
        try:
            result = self._validator.validate_python(arguments)
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
    an `OperationTool` for a generated signature, else `Tool.from_function` (as `@mcp.tool`).

    `output_schemas=False` declares none: an MCP client then checks no result against one (the
    mcp client compiles a JSON Schema validator per tool at its first call, ~5 ms each)."""

    def __init__(self, *, output_schemas: bool = True) -> None:
        super().__init__()
        self.output_schemas = output_schemas
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
        found = (signature(function) if inspect.iscoroutinefunction(function)
                 and set(options) <= {"name", "annotations"} else None)
        if found is None:
            if not self.output_schemas:
                options = {**options, "output_schema": None}
            return Tool.from_function(function, **options)
        tool = OperationTool(
            fn=function, return_type=function.__annotations__.get("return"),
            name=options.get("name") or function.__name__,
            description=inspect.cleandoc(function.__doc__ or "") or None,
            parameters=found.input_schema,
            output_schema=found.output_schema if self.output_schemas else None,
            annotations=options.get("annotations"), tags=set(),
            task_config=TaskConfig(mode="forbidden"),
        )
        tool._signature = found
        return tool

    async def _list_tools(self) -> list[Tool]:
        return list(self._tools.values())

    async def _get_tool(self, name: str, version: VersionSpec | None = None) -> Tool | None:
        tool = self._tools.get(name)
        if tool is None or (version is not None and not version.matches(tool.version)):
            return None
        return tool
