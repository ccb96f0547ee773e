"""Stage `mcpgen`: the MCP server's source for the chosen spec, checked to compile, saved where
the MCP server runs it. It runs once per run: the spec's source is decided before."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner import procs, sandbox
from runner.errors import RunnerError
from runner.limits import write_replacing
from runner.mcpgen import MCPGenerator, readiness
from runner.models import ApiSpec

SOURCE_LIMIT = 64 * 1024 * 1024  # characters of generated server source we compile and run


@dataclass(frozen=True)
class Wrapper:
    """The generated MCP server: where it is and which tool serves which operation."""

    path: Path
    tool_names: dict[str, str]  # "METHOD /path" -> tool name
    readiness: dict[str, Any]  # whether a model can call each tool from its description


# Compiles the generated server in a child: compile() holds the GIL for its whole duration
# (seconds per MB), so in this process neither the watchdog nor the backstop could end it.
_COMPILE = """
import sys
source = open(sys.argv[1], encoding="utf-8").read()
try:
    compile(source, "mcp_server.py", "exec", dont_inherit=True)
except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
    sys.stdout.write(f"{type(exc).__name__}: {str(exc)[:300]}")
    sys.exit(1)
"""


def compiles(source: str, folder: Path, timeout: float) -> None:
    """Fail the mcpgen stage when the generated server is not valid Python, before it is
    started (where it would only be a broken pipe in the MCP client), within `timeout`
    seconds (in `folder`, the run's). Past SOURCE_LIMIT it is not compiled at all."""
    if len(source) > SOURCE_LIMIT:
        raise RunnerError(
            "mcpgen", f"The generated MCP server is {len(source) >> 20} MB, over the "
            f"{SOURCE_LIMIT >> 20} MB limit (its schemas expand too far).",
            "Test fewer operations (`include` / `exclude` in .api-mcp-test.yml), or share large "
            "schemas less: each tool carries its schemas resolved.",
        )
    path = folder / "mcp_server.compile-check.py"
    done = None
    try:
        write_replacing(path, source.encode("utf-8"))
        done = procs.run([sys.executable, "-I", "-S", "-c", _COMPILE, str(path)], cwd=folder,
                         env=sandbox.scrubbed_env(), timeout=timeout, stage="mcpgen",
                         what="compiling the generated MCP server", trusted=True)
        said = done.output.strip()
    except UnicodeEncodeError as exc:
        said = f"{type(exc).__name__}: {exc}"
    finally:
        path.unlink(missing_ok=True)
    if done is None or done.returncode != 0:
        raise RunnerError(
            "mcpgen", "The generated MCP server does not compile: "
            f"{said[-400:]}".encode("utf-8", "backslashreplace").decode("utf-8") + ".",
            "The generator must turn any spec into valid Python: this is a bug in api-mcp-test; "
            "please report it with openapi.json from the output folder.",
        )


def generate(spec: ApiSpec, output_dir: Path, run_dir: Path, workspace: Path,
             timeout: float) -> Wrapper:
    """Write the server into `output_dir` (an artifact) and, when the MCP server cannot reach
    that folder, also into `run_dir` (with its runtime beside it); compiled first within
    `timeout` seconds, in `workspace`."""
    generator = MCPGenerator()
    tool_names = generator.tool_names(spec)
    assessed = readiness.assess(spec, tool_names)
    source = generator.generate_mcp_wrapper(spec)
    compiles(source, workspace, timeout)
    saved = generator.save_wrapper(source, output_dir)
    if run_dir != output_dir:
        saved = generator.save_wrapper(source, run_dir)
    return Wrapper(saved, tool_names, assessed)
