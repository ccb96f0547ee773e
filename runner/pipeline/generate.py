"""Stage `mcpgen`: the MCP server's source for the chosen spec, checked to compile, saved where
the MCP server runs it. It runs once per run: the spec's source is decided before."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import RunnerError
from runner.mcpgen import MCPGenerator, readiness
from runner.models import ApiSpec

SOURCE_LIMIT = 64 * 1024 * 1024  # characters of generated server source we compile and run


@dataclass(frozen=True)
class Wrapper:
    """The generated MCP server: where it is and which tool serves which operation."""

    path: Path
    tool_names: dict[str, str]  # "METHOD /path" -> tool name
    readiness: dict[str, Any]  # whether a model can call each tool from its description


def compiles(source: str) -> None:
    """Fail the mcpgen stage when the generated server is not valid Python, before it is
    started (where it would only be a broken pipe in the MCP client). Past SOURCE_LIMIT it is
    not compiled at all: compiling hundreds of MB is one uninterruptible call."""
    if len(source) > SOURCE_LIMIT:
        raise RunnerError(
            "mcpgen", f"The generated MCP server is {len(source) >> 20} MB, over the "
            f"{SOURCE_LIMIT >> 20} MB limit (its schemas expand too far).",
            "Test fewer operations (`include` / `exclude` in .api-mcp-test.yml), or share large "
            "schemas less: each tool carries its schemas resolved.",
        )
    try:
        compile(source, "mcp_server.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise RunnerError(
            "mcpgen", f"The generated MCP server does not compile: {type(exc).__name__}: "
            f"{str(exc)[:300]}".encode("utf-8", "backslashreplace").decode("utf-8") + ".",
            "The generator must turn any spec into valid Python: this is a bug in api-mcp-test; "
            "please report it with openapi.json from the output folder.",
        ) from None


def generate(spec: ApiSpec, output_dir: Path, run_dir: Path) -> Wrapper:
    """Write the server into `output_dir` (an artifact) and, when the MCP server cannot reach
    that folder, also into `run_dir` (with its runtime beside it)."""
    generator = MCPGenerator()
    tool_names = generator.tool_names(spec)
    assessed = readiness.assess(spec, tool_names)
    source = generator.generate_mcp_wrapper(spec)
    compiles(source)
    saved = generator.save_wrapper(source, output_dir)
    if run_dir != output_dir:
        saved = generator.save_wrapper(source, run_dir)
    return Wrapper(saved, tool_names, assessed)
