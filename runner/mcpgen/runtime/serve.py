"""The generated server's command line: check the settings, then serve."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import Any

from .api import Api
from .settings import Settings, SettingsError


def run(mcp: Any, api: Api, argv: list[str] | None = None) -> None:
    """Check the settings, then serve: stdio by default, `--transport http [--host] [--port]`."""
    parser = argparse.ArgumentParser(description="MCP server for an HTTP API")
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    options = parser.parse_args(argv)
    try:
        Settings.from_environment(os.environ, api.default_base_url)
        if api.hooks is not None:  # fail at start, loudly, rather than on every call
            api.hooks.open()
            api.hooks.close()
    except (SettingsError, OSError) as exc:
        sys.exit(str(exc))
    # What is loaded now lives until exit: spare the garbage collector from scanning it on
    # every full collection, and once more at exit.
    gc.freeze()
    if options.transport == "http":
        mcp.run(transport="http", host=options.host, port=options.port, show_banner=False)
    else:
        mcp.run(show_banner=False)
