"""ApiSpec -> a standalone FastMCP server with one typed tool per operation.

The server is three files in one folder: `mcp_server.py` (the tools, generated: see
`source.py`), `mcp_runtime/` (a copy of the package `runtime/`: settings, requests, answers) and, in the
harness build only, `mcp_harness.py` (a copy of `harness.py`: the call log the runner reads, the
headers file the auth stage writes, and the raw-request tool `api_mcp_test_raw_request` for
negative tests, whose interface `harness.py` documents).

Two builds: the harness build (`harness=True`, what a test run starts) answers every call with
a record of it; the shipped build (`api-mcp-test generate`) answers with the API's answer, a tool
error for 4xx/5xx and transport errors, takes credentials from the environment per the spec's
securitySchemes and comes with a README.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from runner.errors import RunnerError
from runner.mcpgen import names, ship, source
from runner.mcpgen.names import RAW_REQUEST_TOOL
from runner.models import ApiSpec

HERE = Path(__file__).resolve().parent
SERVER_FILE = "mcp_server.py"
RUNTIME_DIR = "mcp_runtime"
HARNESS_FILE = "mcp_harness.py"

__all__ = ["RAW_REQUEST_TOOL", "MCPGenerator", "generate_mcp_wrapper", "save_wrapper"]


class MCPGenerator:
    """Turns an ApiSpec into FastMCP server source. Deterministic, no I/O but `save_wrapper`."""

    def tool_names(self, spec: ApiSpec) -> dict[str, str]:
        """Endpoint key (`GET /todos/{todo_id}`) -> tool name, unique and stable."""
        return names.tool_names(spec.endpoints, source.FRAME_NAMES)

    def generate_mcp_wrapper(
        self, spec: ApiSpec, base_url: str | None = None, *, harness: bool = True
    ) -> str:
        """The source of `mcp_server.py`; `base_url` only becomes the default of API_BASE_URL.
        `harness` builds the test harness' server, else the one a team ships."""
        if not spec.endpoints:
            raise RunnerError(
                "mcpgen",
                "The API has no operations, so there are no tools to generate.",
                "Check that the app registers its routes before the OpenAPI document is built.",
            )
        creds = [] if harness else ship.credentials(spec.openapi)
        credentials = ast.Tuple([c.node() for c in creds], ast.Load())
        return source.build_module(spec, self.tool_names(spec), base_url, harness, credentials)

    def save_wrapper(self, code: str, directory: Path) -> Path:
        """Write `code` as `directory/mcp_server.py` with the runtime (and, for a harness
        build, the harness module) beside it; return the server's path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / SERVER_FILE
        path.write_text(code, encoding="utf-8")
        runtime = directory / RUNTIME_DIR
        shutil.rmtree(runtime, ignore_errors=True)
        shutil.copytree(HERE / "runtime", runtime,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        if "from mcp_harness import" in code:
            shutil.copyfile(HERE / "harness.py", directory / HARNESS_FILE)
        else:
            (directory / HARNESS_FILE).unlink(missing_ok=True)
        return path

    def ship(self, spec: ApiSpec, directory: Path, base_url: str | None = None) -> Path:
        """Write the shipped server, its runtime and a README into `directory`."""
        path = self.save_wrapper(self.generate_mcp_wrapper(spec, base_url, harness=False),
                                 directory)
        title = names.one_line(spec.title or "API")
        server = names.snake_case(title).replace("_", "-") or "api"
        (directory / "README.md").write_text(
            ship.readme(title, server, len(spec.endpoints), ship.credentials(spec.openapi)),
            encoding="utf-8")
        return path


def generate_mcp_wrapper(
    spec: ApiSpec, base_url: str | None = None, *, harness: bool = True
) -> str:
    """The source of a FastMCP server for `spec` (see MCPGenerator.generate_mcp_wrapper)."""
    return MCPGenerator().generate_mcp_wrapper(spec, base_url, harness=harness)


def save_wrapper(code: str, directory: Path) -> Path:
    """Write `code` to `directory/mcp_server.py`, the runtime package beside it; return the path."""
    return MCPGenerator().save_wrapper(code, directory)
