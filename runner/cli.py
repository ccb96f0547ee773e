"""`api-mcp-test`: a thin click layer over the pipeline (parse, run, print, exit)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from runner.errors import (
    ExitCode,
    RunnerError,
    UsageError,
    condense_tracebacks,
)
from runner.inputs import (
    LOCATION_OPTIONS,
    check_llm_options,
    clone_token,
    discover_spec,
    explicit_inputs,
    repo_options,
    set_on_command_line,
    target_options,
)
from runner.limits import leave
from runner.models import RunConfig, Timeouts
from runner.report import inert, terminal
from runner.report.verdict import FAIL_ON, FailOn, exit_code
from runner.runconfig import DEFAULT_MAX_TOOL_CALLS
from runner.shard import parse_shard


def _progress(quiet: bool):  # type: ignore[no-untyped-def]
    def emit(line: str) -> None:
        if not quiet:
            click.echo(inert.terminal(line), err=True)

    return emit


def _fail(exc: RunnerError) -> None:
    click.echo(f"error: {inert.terminal(exc.user_message())}", err=True)
    sys.exit(int(exc.exit_code))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="api-mcp-test")
def main() -> None:
    """Test a Python API (FastAPI, Flask, Django) through generated MCP tools.

    Exit codes: 0 every endpoint passed, 1 an endpoint failed, 2 usage or configuration error,
    3 a stage could not complete (no app found, app did not start, ...) or nothing was tested
    (every endpoint skipped, e.g. all answered 401).
    """
    # App text (a title, a path) can hold what the terminal's encoding cannot: print it escaped.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


@main.command()
@target_options
@click.option("--suite", type=click.Choice(["smoke", "comprehensive", "custom"]),
              default="smoke", show_default=True, help="smoke: one valid call per endpoint; "
              "comprehensive: also boundary values and not-found ids (the LLM agent: also invalid "
              "input, CRUD chains, consistency); custom: the --scenarios file (LLM agent).")
@click.option("--agent", type=click.Choice(["auto", "deterministic", "llm"]), default="auto",
              show_default=True, help="auto: the LLM agent when ANTHROPIC_API_KEY is set, else "
              "the deterministic one. llm: fail (exit 3) instead of falling back when the model "
              "errors.")
@click.option("--model", metavar="PROVIDER:ID", help="Model of the LLM agent, e.g. "
              "anthropic:claude-sonnet-5-5 (the default), openai:gpt-5, ollama:llama3.")
@click.option("--scenarios", "scenarios_path", type=click.Path(path_type=Path), help="Markdown "
              "file of plain-language scenarios, one per '## ' section (implies --suite custom).")
@click.option("--max-tokens", type=int, help="LLM budget: input + output tokens in all.")
@click.option("--max-cost-usd", type=float, help="LLM budget: estimated cost in USD.")
@click.option("--max-tools-per-session", type=int, default=RunConfig.max_tools_per_session,
              show_default=True,
              help="Larger APIs get one LLM session per group of this many tools.")
@click.option("--max-result-chars", type=int, help="Characters of a response body a tool "
              "returns to the agent (default 8000); calls are recorded in full regardless.")
@click.option("--output-dir", type=click.Path(path_type=Path), default=RunConfig.output_dir,
              show_default=True, help="Folder for the reports and artifacts (wrapper, logs).")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path), help="Also write the "
              "JUnit XML here (default: OUTPUT_DIR/junit.xml).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Also write the JSON "
              "result here (default: OUTPUT_DIR/report.json).")
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path), help="Markdown "
              "report path (default: OUTPUT_DIR/report.md).")
@click.option("--check", "checks", multiple=True, metavar="NAME", help="Run only these checks "
              "(repeatable). Default: all. See `api-mcp-test checks`.")
@click.option("--strict", is_flag=True, help="An undocumented 4xx to valid input fails the "
              "operation (default: a warning).")
@click.option("--examples", "examples_per_operation", type=int, metavar="N", help="Generated "
              "inputs (hypothesis-jsonschema, seeded) per operation, besides the edge values. "
              "Default: 0 for smoke, 6 for comprehensive.")
@click.option("--call-timeout", type=float, default=Timeouts.call, show_default=True,
              help="Seconds one API call may take, whole response included.")
@click.option("--start-timeout", type=float, default=Timeouts.start, show_default=True,
              help="Seconds the app may take to answer HTTP after start.")
@click.option("--timeout", "run_timeout", type=float, default=Timeouts.run, show_default=True,
              help="Seconds the whole run may take (it also caps the other limits); the "
              "report keeps what was measured by then.")
@click.option("--max-tool-calls", type=int, default=DEFAULT_MAX_TOOL_CALLS, show_default=True,
              help="Most MCP tool calls an agent may make (left out: the deterministic agent's "
              "grows with the API, so every operation is called).")
@click.option("--workspace-root", type=click.Path(path_type=Path), help="Where the run's "
              "temporary workspace is made (default: the system temp folder).")
@click.option("--keep-workspace", is_flag=True, help="Keep the temporary workspace after the run.")
@click.option("--base", "base_ref", metavar="REF", help="Compare with this branch, tag or sha "
              "of the same repository (e.g. main): its API is diffed against PATH's and tested "
              "too (deterministic agent, cached by commit); uncommitted changes in PATH count.")
@click.option("--baseline", "baseline_report", type=click.Path(path_type=Path), metavar="REPORT",
              help="Compare with a stored report.json (or its folder) of the base instead.")
@click.option("--fail-on", type=click.Choice(list(FAIL_ON)), default="failures",
              show_default=True, help="What fails the run (exit 1): any failed or errored "
              "endpoint; only errors; only what is new against --base/--baseline (new "
              "failures, failing new endpoints, breaking API changes); never.")
@click.option("--fail-on-breaking/--no-fail-on-breaking", default=True, show_default=True,
              help="With --fail-on new-failures: a breaking API change fails the run.")
@click.option("--shard", "shard_text", metavar="K/N", help="Test only shard K of N of the "
              "operations (whole resources per shard, the same split in every job); "
              "`api-mcp-test merge` combines the shards' reports.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
def test(path: str, branch: str | None, pr_number: int | None, commit: str | None,
         token: str | None, token_file: Path | None, working_directory: str | None,
         config_file: Path | None, dev_requirements: bool, app: str | None, python: str | None,
         no_install: bool, install_command: str | None, app_env: tuple[str, ...],
         allow_env: tuple[str, ...], install_timeout: float, discovery_timeout: float, suite: str,
         output_dir: Path, junit_path: Path | None, json_path: Path | None,
         markdown_path: Path | None, checks: tuple[str, ...], call_timeout: float,
         start_timeout: float, run_timeout: float, max_tool_calls: int,
         workspace_root: Path | None, keep_workspace: bool, quiet: bool, agent: str,
         model: str | None, scenarios_path: Path | None, max_tokens: int | None,
         max_cost_usd: float | None, max_tools_per_session: int,
         max_result_chars: int | None, base_ref: str | None, baseline_report: Path | None,
         fail_on: FailOn, fail_on_breaking: bool, strict: bool,
         examples_per_operation: int | None, shard_text: str | None) -> None:
    """Test the API in PATH (default: the current folder) and write the reports.

    PATH may be a repository URL (https://, ssh://, git@host:org/api.git, file://): it is cloned
    into the run's workspace at --branch, --pr or --commit.

    Settings in PATH/.api-mcp-test.yml (or [tool.api-mcp-test] in pyproject.toml) apply where
    no option is given: working-directory, python, env, setup, start, spec, auth, ...
    That file belongs to the repository (untrusted): its ${NAME} references read only the
    variables granted with --allow-env NAME.

    The LLM agent reads the key from ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL, if set); the
    key is never passed to the app or the MCP server.
    """
    from runner.pipeline import run_pipeline
    from runner.pipeline.choices import check_model_key
    from runner.pipeline.driver import cancel_on_signals, skip_exit_collection

    try:
        from runner.checks import select
        from runner.config import build_config

        select(checks)
        suite = check_llm_options(suite, agent, model, scenarios_path, max_tools_per_session,
                                  max_result_chars)
        # The options set on the command line (one left at its default is absent: the
        # project's config file or the default applies), as the run's explicit inputs.
        settings = {name: value for name, value in click.get_current_context().params.items()
                    if name not in (*LOCATION_OPTIONS, "quiet", "fail_on", "fail_on_breaking",
                                    "shard_text")}
        inputs = explicit_inputs(set_on_command_line(settings))
        if scenarios_path is not None:  # implies the custom suite
            inputs["suite"] = suite
        config = build_config({
            **inputs,
            **repo_options(path, branch, pr_number, commit, clone_token(token, token_file),
                           working_directory),
            "anthropic_api_key": os.environ.get("ANTHROPIC_API_KEY") or None,
            "model_base_url": os.environ.get("ANTHROPIC_BASE_URL") or None,
            "shard": parse_shard(shard_text) if shard_text is not None else None,
        })
        if base_ref and baseline_report:
            raise UsageError("Give --base or --baseline, not both.",
                             "--base runs the base; --baseline reads a stored report of it.")
        check_model_key(config)
    except RunnerError as exc:
        _fail(exc)
    cancel_on_signals()
    report = run_pipeline(config, _progress(quiet)).report
    skip_exit_collection()
    click.echo(terminal.render(report), nl=False)
    if report.usage:
        usage = report.usage
        cost = usage.cost_usd_estimate
        click.echo(f"model {usage.model}: {usage.input_tokens} input + "
                   f"{usage.output_tokens} output tokens, {usage.tool_calls} tool calls"
                   + (f", about ${cost:.4f} (estimate)" if cost is not None else ""))
    if report.status == "failed":
        click.echo(f"\nerror: {inert.terminal(report.error)}", err=True)
        if report.error_detail:
            detail = inert.terminal(condense_tracebacks(report.error_detail)[-2000:])
            click.echo("--- log tail (full text in report.json) ---\n" + detail, err=True)
    click.echo(f"\nReports: {report.artifacts.get('output_dir', output_dir)}", err=True)
    leave(int(exit_code(report, fail_on, fail_on_breaking)))  # waits for no stuck thread


@main.command()
@target_options
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the OpenAPI "
              "document (JSON) here; without it, the document goes to stdout.")
def discover(output: Path | None, **kwargs: Any) -> None:
    """Find the app in PATH: what it offers (on stderr without -o), and its OpenAPI document
    (to stdout, or to the -o file)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="api-mcp-test-") as tmp:
        try:
            spec = discover_spec(workdir=Path(tmp), **kwargs)
        except RunnerError as exc:
            _fail(exc)
    to_stderr = output is None  # stdout carries the document alone, for pipes
    click.echo(f"framework: {spec.framework} ({spec.spec_source} spec)", err=to_stderr)
    click.echo(f"app:       {inert.one_line(spec.app_locator)}", err=to_stderr)
    click.echo(f"api:       {inert.one_line(f'{spec.title} {spec.version}', 200)}".rstrip(),
               err=to_stderr)
    click.echo(f"operations: {len(spec.endpoints)}", err=to_stderr)
    for endpoint in spec.endpoints:
        click.echo(f"  {endpoint.method:<7} {inert.one_line(endpoint.path, 200)}  "
                   f"{inert.one_line(endpoint.summary, 200)}", err=to_stderr)
    if output:
        output.write_text(json.dumps(spec.openapi, indent=2))
        click.echo(f"spec written to {output}", err=True)
    else:
        click.echo(json.dumps(spec.openapi, indent=2))


@main.command()
@target_options
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Where to write the "
              "config (default: PATH/.api-mcp-test.yml; - for stdout).")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def init(output: Path | None, force: bool, **kwargs: Any) -> None:
    """Write the .api-mcp-test.yml that makes a run of PATH work, from what discovery learns
    (the app, the API's folder, settings the app needs, login operations, Python version).

    Exit codes: 0 written and the app found; 3 written, but discovery still fails (the file's
    comments say why)."""
    from runner.discovery.guide import learn

    target = output or Path(kwargs["path"]) / ".api-mcp-test.yml"
    if str(target) != "-" and target.exists() and not force:
        _fail(UsageError(f"{target} exists.", "Pass --force to overwrite it, or -o FILE."))
    learned, text = learn(discover_spec, kwargs)
    if str(target) == "-":
        click.echo(text, nl=False)
    else:
        target.write_text(text)
        click.echo(f"wrote {target}", err=True)
    if learned.spec is None:
        click.echo(f"discovery still fails: {learned.problem}", err=True)
        sys.exit(int(ExitCode.STAGE))
    click.echo(f"app {learned.spec.app_locator}: {len(learned.spec.endpoints)} operations; "
               f"run `api-mcp-test test {kwargs['path']}`", err=True)


@main.command()
@target_options
@click.option("--spec", "spec_file", type=click.Path(exists=True, path_type=Path),
              help="Generate from this OpenAPI file (JSON or YAML) instead of importing the app.")
@click.option("-o", "--output-dir", type=click.Path(path_type=Path), default=".",
              show_default=True, help="Folder to write the server into.")
def generate(spec_file: Path | None, output_dir: Path, **kwargs: Any) -> None:
    """Write an MCP server for the API in PATH or a spec file, to ship: mcp_server.py (one tool
    per operation), mcp_runtime/ (its runtime) and README.md (settings, credentials, client configuration)."""
    import tempfile

    from runner.mcpgen import MCPGenerator

    try:
        if spec_file:
            from runner.openapi import check_operation_count, validate_document
            from runner.pipeline.spec import spec_from_file

            spec = spec_from_file(spec_file)
            for warning in validate_document(spec.openapi, str(spec_file)):
                click.echo(f"warning: {inert.terminal(warning)}", err=True)
            check_operation_count(len(spec.endpoints), source=str(spec_file))
        else:
            with tempfile.TemporaryDirectory(prefix="api-mcp-test-") as tmp:
                spec = discover_spec(workdir=Path(tmp), **kwargs)
        generator = MCPGenerator()
        output_dir.mkdir(parents=True, exist_ok=True)
        path = generator.ship(spec, output_dir)
    except RunnerError as exc:
        _fail(exc)
    click.echo(f"{len(spec.endpoints)} tools written to {path}")
    click.echo(f"run it: api-mcp-test serve {output_dir} --base-url http://127.0.0.1:8000 "
               f"(see {output_dir / 'README.md'})", err=True)


@main.command()
@click.argument("server", type=click.Path(exists=True, path_type=Path))
@click.option("--base-url", required=True, help="Base URL of the API the tools call.")
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio",
              show_default=True, help="MCP transport: stdio, or streamable HTTP.")
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP transport: address.")
@click.option("--port", type=int, default=8001, show_default=True, help="HTTP transport: port.")
def serve(server: Path, base_url: str, transport: str, host: str, port: int) -> None:
    """Run a generated MCP server (SERVER: the folder `generate` wrote, or its mcp_server.py)."""
    path = server / "mcp_server.py" if server.is_dir() else server
    if not path.is_file() or not (path.parent / "mcp_runtime").is_dir():
        from runner.errors import UsageError

        _fail(UsageError(f"{server} holds no generated server (mcp_server.py with "
                         "mcp_runtime/ beside it).",
                         "Write one with: api-mcp-test generate PATH -o DIR"))
    env = {**os.environ, "API_BASE_URL": base_url}
    args = [sys.executable, str(path), "--transport", transport, "--host", host, "--port",
            str(port)]
    os.execve(sys.executable, args, env)  # the server owns stdin/stdout from here


@main.command(name="merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--output-dir", type=click.Path(path_type=Path), default=RunConfig.output_dir,
              show_default=True, help="Folder for the merged junit.xml, report.md and "
              "report.json.")
@click.option("--fail-on", type=click.Choice(list(FAIL_ON)), default="failures",
              show_default=True, help="What fails the merged run (exit 1), as for `test`.")
@click.option("--fail-on-breaking/--no-fail-on-breaking", default=True, show_default=True,
              help="With --fail-on new-failures: a breaking API change fails the run.")
def merge_command(reports: tuple[Path, ...], output_dir: Path, fail_on: FailOn,
                  fail_on_breaking: bool) -> None:
    """Merge the reports of a sharded run (`test --shard K/N`, one matrix job each) into one.

    REPORTS are report.json files or folders holding them (searched recursively, e.g. the
    downloaded artifacts). Every shard of one matrix must be there once.
    """
    from runner.report import merge

    try:
        found = merge.find_reports(list(reports))
        report = merge.merge([merge.read(path) for path in found])
    except RunnerError as exc:
        _fail(exc)
    written = merge.write(report, output_dir)
    click.echo(terminal.render(report), nl=False)
    click.echo(f"\nMerged {len(found)} shard report(s): {written}", err=True)
    sys.exit(int(exit_code(report, fail_on, fail_on_breaking)))


@main.command(name="checks")
def list_checks() -> None:
    """List the response checks by name."""
    from runner.checks import CHECKS

    for name, fn in CHECKS.items():
        click.echo(f"{name:<28} {(fn.__doc__ or '').strip().splitlines()[0]}")


if __name__ == "__main__":
    main()
