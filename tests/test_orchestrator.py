"""The Python API: DynamicBackendOrchestrator.test_local returns the seed's result dict."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from runner import DynamicBackendOrchestrator
from runner.models import RunConfig
from tests.helpers import EXAMPLE, processes_mentioning

pytestmark = pytest.mark.slow


def test_test_local_returns_the_result_dict(tmp_path: Path, fixture_python: Path) -> None:
    app = tmp_path / "todo"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("__pycache__"))
    lines: list[str] = []
    orchestrator = DynamicBackendOrchestrator(
        RunConfig(repo_path=app, python=str(fixture_python), output_dir=tmp_path / "out",
                  app_env={"TODO_API_FIXED": "1"}),
        progress=lines.append,
    )
    result = asyncio.run(orchestrator.test_local(app, app_module="main:app"))
    assert result["status"] == "completed" and result["overall_success"] is True
    assert result["endpoints_tested"] == 11 and result["success_rate"] == 100.0
    assert result["api_info"]["framework"] == "fastapi"
    assert result["api_info"]["app"] == "main:app"
    assert {r["method"] for r in result["test_results"]} == {"GET", "POST", "PUT", "PATCH",
                                                            "DELETE"}
    assert any(line.startswith("✓ agent") for line in lines)
    assert processes_mentioning(str(tmp_path)) == []
