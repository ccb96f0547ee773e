"""The pipeline's structure (runner/pipeline/): stages import only what comes before them, the
driver keeps the report and cleans up whatever a stage does, one agent-choice rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from runner.errors import RunnerError, UsageError
from runner.models import RunConfig
from runner.pipeline.choices import agent_kind, call_budget, check_model_key
from runner.pipeline.driver import Run, drive
from runner.runconfig import DEFAULT_MAX_TOOL_CALLS

PIPELINE = Path(__file__).resolve().parent.parent / "runner" / "pipeline"
# Lowest first: a module may import only modules listed before it.
ORDER = ["driver", "choices", "source", "install", "spec", "generate", "serve", "credentials",
         "exercise", "judge", "base", "reports", "run", "__init__"]


def _pipeline_imports(module: str) -> set[str]:
    tree = ast.parse((PIPELINE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("runner.pipeline."):
                found.add(node.module.removeprefix("runner.pipeline."))
            elif node.module == "runner.pipeline":
                found.update(alias.name for alias in node.names)
    return found


def test_every_pipeline_module_is_in_the_order() -> None:
    assert sorted(p.stem for p in PIPELINE.glob("*.py")) == sorted(ORDER)


@pytest.mark.parametrize("module", ORDER)
def test_a_stage_imports_no_later_stage(module: str) -> None:
    later = set(ORDER[ORDER.index(module):])
    assert not _pipeline_imports(module) & later, module


def test_runner_modules_below_pipeline_do_not_import_it() -> None:
    """The stages' helpers (repo, discovery, mcpgen, servers, agent, ...) know nothing of the
    pipeline that orders them; only the faces (cli, inputs, orchestrator) import it."""
    runner = PIPELINE.parent
    faces = {"cli.py", "inputs.py", "orchestrator.py"}
    offenders = [str(path.relative_to(runner)) for path in runner.rglob("*.py")
                 if "pipeline" not in path.parts and path.name not in faces
                 and "runner.pipeline" in path.read_text()]
    assert offenders == []


def test_the_driver_records_a_failed_stage_and_cleans_up(tmp_path: Path) -> None:
    config = RunConfig(repo_path=tmp_path, output_dir=tmp_path / "out",
                       workspace_root=tmp_path / "ws")
    lines: list[str] = []
    written: list[str] = []

    def stages(run: Run) -> None:
        with run.stage("repo") as timing:
            timing.note = "fine"
        with run.stage("install"):
            raise RunnerError("install", "pip failed.", "Fix requirements.txt.")

    run = Run(config, lines.append)
    drive(run, stages, lambda r: written.append(r.report.status))
    report = run.report
    assert report.status == "failed" and report.failed_stage == "install"
    assert report.error == "[install] pip failed. Fix requirements.txt."
    assert [(s.stage, s.ok, s.note) for s in report.stages] == [("repo", True, "fine"),
                                                                 ("install", False, "")]
    assert isinstance(run.error, RunnerError) and run.error.stage == "install"
    assert written == ["failed"]
    assert lines[0] == "▶ repo" and lines[-1].startswith("✗ install")
    assert not run.workspace.exists()


def test_the_driver_turns_a_bug_into_a_failed_stage(tmp_path: Path) -> None:
    config = RunConfig(repo_path=tmp_path, output_dir=tmp_path / "out",
                       workspace_root=tmp_path / "ws", anthropic_api_key="sk-secret-123456789")

    def stages(run: Run) -> None:
        with run.stage("discovery"):
            raise KeyError("sk-secret-123456789")

    run = Run(config, lambda line: None)
    drive(run, stages, lambda r: None)
    assert run.report.failed_stage == "discovery" and "KeyError" in (run.report.error or "")
    assert "sk-secret-123456789" not in (run.report.error or "")  # masked before any report


@pytest.mark.parametrize(("agent", "key", "model", "kind"), [
    ("auto", None, None, "deterministic"),
    ("auto", "sk-x", None, "llm"),
    ("auto", None, "openai:gpt-5", "llm"),
    ("auto", None, "anthropic:claude-sonnet-5-5", "deterministic"),
    ("deterministic", "sk-x", None, "deterministic"),
    ("llm", None, "ollama:llama3", "llm"),
])
def test_one_agent_choice_rule(agent: str, key: str | None, model: str | None,
                               kind: str) -> None:
    config = RunConfig(repo_path=Path("."), agent=agent, anthropic_api_key=key,  # type: ignore[arg-type]
                       model=model)
    assert agent_kind(config) == kind


def test_the_llm_agent_with_claude_needs_the_key() -> None:
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        check_model_key(RunConfig(repo_path=Path("."), agent="llm"))
    check_model_key(RunConfig(repo_path=Path("."), agent="llm", model="openai:gpt-5"))
    check_model_key(RunConfig(repo_path=Path("."), agent="llm", anthropic_api_key="sk-x"))


def test_the_call_budget_grows_with_the_api_unless_set() -> None:
    config = RunConfig(repo_path=Path("."))
    assert call_budget(config, 10) == DEFAULT_MAX_TOOL_CALLS
    assert call_budget(config, 100) == 600
    assert call_budget(RunConfig(repo_path=Path("."), suite="comprehensive"), 10) == 400
    # Set (a flag or the config file), even to the default's value: the budget does not grow.
    given = RunConfig(repo_path=Path("."), max_tool_calls=DEFAULT_MAX_TOOL_CALLS)
    assert call_budget(given, 100) == DEFAULT_MAX_TOOL_CALLS


def test_the_agent_gets_its_part_of_the_settings() -> None:
    from runner.pipeline.choices import agent_settings

    deterministic = agent_settings(RunConfig(repo_path=Path("."), suite="comprehensive"), 10)
    assert (deterministic.kind, deterministic.max_calls, deterministic.forced) == (
        "deterministic", 400, False)
    llm = agent_settings(RunConfig(repo_path=Path("."), agent="llm", anthropic_api_key="sk-x",
                                   max_tokens=1000), 10)
    assert (llm.kind, llm.max_calls, llm.forced, llm.max_tokens) == (
        "llm", DEFAULT_MAX_TOOL_CALLS, True, 1000)
    assert "sk-x" not in repr(llm)


def test_the_legacy_names_are_one_facade() -> None:
    import runner
    from runner import orchestrator
    from runner.discovery import APIDiscoveryService
    from runner.mcpgen import MCPGenerator
    from runner.repo import RepoManager
    from runner.servers import DynamicServerManager

    for name in runner._PUBLIC:
        assert getattr(runner, name) is getattr(orchestrator, name)
    assert (orchestrator.RepoManager, orchestrator.APIDiscoveryService, orchestrator.MCPGenerator,
            orchestrator.DynamicServerManager) == (RepoManager, APIDiscoveryService, MCPGenerator,
                                                   DynamicServerManager)
    for method in ("test_local", "test_repo", "run"):
        assert callable(getattr(orchestrator.DynamicBackendOrchestrator, method))
