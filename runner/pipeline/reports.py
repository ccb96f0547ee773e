"""Stage `report` (part of the run's end): junit.xml, report.md and report.json, written from
the masked report whatever happened before."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from runner.limits import write_replacing
from runner.models import RunReport
from runner.pipeline.driver import Run
from runner.report import junit, markdown, result


def write_reports(run: Run) -> None:
    out = run.output_dir
    wanted = run.config.report_paths
    paths = {
        "junit": wanted.junit or out / "junit.xml",
        "json": wanted.json or out / "report.json",
        "markdown": wanted.markdown or out / "report.md",
    }
    run.report.artifacts = {
        **{k: str(Path(v).resolve()) for k, v in paths.items()},
        "output_dir": str(out),
        "wrapper": str(out / "mcp_server.py"),
        "calls": str(out / "calls.jsonl"),
        "app_log": str(run.servers.app_log),
    }
    for path in paths.values():
        run.salvage("report", Path(path).parent.mkdir, 0o777, True, True)

    def write(kind: str, render: Callable[[RunReport], str]) -> None:
        # Text that cannot be encoded (a lone surrogate from the app) is replaced, not fatal.
        # A new file replaces the old: a FIFO or a link put there is never opened.
        write_replacing(Path(paths[kind]), render(run.report).encode("utf-8", errors="replace"))

    run.salvage("report", write, "junit", junit.render)
    run.salvage("report", write, "markdown", markdown.render)
    # Last: it records a failure of the others.
    run.salvage("report", write, "json",
                lambda report: json.dumps(result.to_dict(report), indent=2, default=str))
