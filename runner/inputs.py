"""The command line's inputs: the options every command that finds the app shares, and their
values turned into the run's explicit inputs (only the options set on the command line: one
left at its default is absent, so the project's config file or the default applies; see
runner/config/build.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from runner.errors import UsageError
from runner.models import ApiSpec, Timeouts
from runner.trust import clean_grants


def parse_app_env(pairs: tuple[str, ...]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--app-env {pair!r} is not NAME=VALUE.",
                             "Write it as --app-env DEBUG=1 (repeat the option for more).")
        env[name.strip()] = value
    return env


TOKEN_FILE_LIMIT = 64 * 1024


def clone_token(flag: str | None, token_file: Path | None) -> str | None:
    """The clone token: from --token-file, else $GITHUB_TOKEN. A token given as --token is
    refused: /proc/PID/cmdline is readable by every process, the app under test included."""
    if flag is not None:
        raise UsageError("--token puts the token on the command line, where every process on "
                         "the machine (the app under test too) can read it; it is not accepted.",
                         "Export GITHUB_TOKEN, or write the token to a file (chmod 600) and pass "
                         "--token-file FILE. Revoke the token you typed if the machine is shared.")
    if token_file is None:
        return os.environ.get("GITHUB_TOKEN") or None
    try:
        with open(token_file, "rb") as handle:
            data = handle.read(TOKEN_FILE_LIMIT + 1)
    except OSError as exc:
        raise UsageError(f"--token-file {token_file} cannot be read: {exc.strerror}.",
                         "Give a file holding the token on its first line.") from None
    lines = data.decode("utf-8", errors="replace").strip().splitlines()
    if len(data) > TOKEN_FILE_LIMIT or not lines or not lines[0].strip():
        raise UsageError(f"--token-file {token_file} holds no token on its first line.",
                         "Write the token alone on the first line of the file.")
    return lines[0].strip()


def check_llm_options(suite: str, agent: str, model: str | None, scenarios: Path | None,
                      max_tools: int, max_result_chars: int | None) -> str:
    """The suite to run, after the LLM options are checked together."""
    if scenarios is not None:
        from runner.agent.instructions import load_scenarios

        load_scenarios(scenarios)
        suite = "custom"
    if suite == "custom" and scenarios is None:
        raise UsageError("--suite custom needs a scenarios file.",
                         "Pass --scenarios FILE (Markdown, one '## ' section per scenario).")
    if model is not None and model.endswith(":"):
        raise UsageError(f"--model {model!r} names no model.",
                         "Write it as provider:model-id, e.g. anthropic:claude-sonnet-5-5.")
    if max_tools < 1 or (max_result_chars is not None and max_result_chars < 1):
        raise UsageError("--max-tools-per-session and --max-result-chars must be positive.")
    return suite


def set_on_command_line(options: Mapping[str, Any]) -> dict[str, Any]:
    """`options` without those the current command got by default: an option left at its
    default is absent (the project's file or the default applies), and an explicit value equal
    to the default is kept (it still overrides the file). Names that are not options, and
    values the caller changed (`init` retries with more settings), stay."""
    ctx = click.get_current_context()
    return {name: value for name, value in options.items()
            if ctx.get_parameter_source(name) != ParameterSource.DEFAULT
            or value != ctx.params.get(name)}


def explicit_inputs(options: Mapping[str, Any]) -> dict[str, Any]:
    """Command-line options (those set, by parameter name) as RunConfig fields: the timeouts
    (`--start-timeout`: `start_timeout`) as the "timeouts" mapping, `--no-install`, the
    NAME=VALUE and granted-variable lists converted; other names are the fields'."""
    inputs = dict(options)
    inputs["timeouts"] = {stage.name: inputs.pop(f"{stage.name}_timeout")
                          for stage in fields(Timeouts) if f"{stage.name}_timeout" in inputs}
    if "no_install" in inputs:
        inputs["install"] = not inputs.pop("no_install")
    if "app_env" in inputs:
        inputs["app_env"] = parse_app_env(inputs["app_env"])
    if "allow_env" in inputs:
        inputs["allow_env"] = clean_grants(inputs["allow_env"])
    return inputs


# The options that say where the code is (`repo_options`), given whatever their source.
LOCATION_OPTIONS = ("path", "branch", "pr_number", "commit", "token", "token_file",
                    "working_directory")


def target_options(fn):  # type: ignore[no-untyped-def]
    """Options shared by every command that finds and imports the app."""
    options = [
        click.argument("path", default=".", required=False),
        click.option("--branch", metavar="NAME", help="With a URL: test this branch (default: "
                     "the remote's default branch)."),
        click.option("--pr", "pr_number", type=click.IntRange(min=1), metavar="N",
                     help="With a URL: test pull request N (its refs/pull/N/head)."),
        click.option("--commit", metavar="SHA", help="With a URL: test this commit."),
        click.option("--token-file", type=click.Path(path_type=Path), metavar="FILE",
                     help="File holding the token for cloning a private repository over HTTPS "
                     "(default: $GITHUB_TOKEN). Sent as a header, never stored; never give a "
                     "token on the command line, where any process can read it."),
        click.option("--token", hidden=True),  # refused: see clone_token
        click.option("--working-directory", metavar="SUBDIR", help="The app's folder inside "
                     "the repository."),
        click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
                     metavar="FILE", help="Read the settings from FILE instead of the project's "
                     ".api-mcp-test.yml (same keys; paths relative to the app's folder)."),
        click.option("--dev-requirements", is_flag=True, help="Also install development "
                     "dependencies (requirements-dev.txt, dev groups)."),
        click.option("--app", help="The app as module:attr (e.g. app.main:app); auto-detected "
                     "when left out. A factory works too: app:create_app."),
        click.option("--python", "python", metavar="PATH", help="Run the app with this existing "
                     "interpreter instead of building an isolated environment."),
        click.option("--no-install", is_flag=True, help="Do not install the app's dependencies."),
        click.option("--install-command", metavar="CMD", help="Shell command that installs the "
                     "dependencies into the target environment (instead of the dependency "
                     "files)."),
        click.option("--app-env", multiple=True, metavar="NAME=VALUE", help="A non-secret setting "
                     "for the app (repeatable)."),
        click.option("--allow-env", multiple=True, metavar="NAME", help="Let the project's "
                     "config read this variable of the runner's environment as ${NAME} "
                     "(repeatable). Nothing else is readable: the config is the repository's, "
                     "untrusted; GITHUB_*, ACTIONS_*, RUNNER_*, INPUT_* and model keys never are."),
        click.option("--install-timeout", type=float, default=Timeouts.install, show_default=True,
                     help="Seconds the install stage may take."),
        click.option("--discovery-timeout", type=float, default=Timeouts.discovery,
                     show_default=True,
                     help="Seconds importing the app and reading its spec may take."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def repo_options(path: str, branch: str | None, pr_number: int | None, commit: str | None,
                  token: str | None, working_directory: str | None) -> dict[str, Any]:
    """PATH and the repository options as RunConfig fields."""
    from runner.repo import is_remote, split_credentials

    if sum(x is not None for x in (branch, pr_number, commit)) > 1:
        raise UsageError("Give at most one of --branch, --pr and --commit.",
                         "A pull request and a commit already name the code to test.")
    if is_remote(path):
        bare, credential = split_credentials(path)
        if credential:
            raise UsageError(f"The repository URL {bare} carries a credential on the command "
                             "line, where every process (the app under test too) can read it; "
                             "it is not accepted.",
                             "Give the URL without it and the token in GITHUB_TOKEN or "
                             "--token-file FILE.")
        return {"repo_path": Path("."), "repo_url": path, "branch": branch,
                "pr_number": pr_number, "commit": commit, "token": token or None,
                "working_directory": working_directory}
    if branch or pr_number or commit:
        raise UsageError(f"--branch, --pr and --commit need a repository URL; {path} is a "
                         "folder.", "Give the URL (https://, git@host:org/repo.git, file://), "
                         "or check the branch out yourself and give the folder.")
    return {"repo_path": Path(path), "working_directory": working_directory}


def discover_spec(path: str, branch: str | None, pr_number: int | None, commit: str | None,
                  token: str | None, token_file: Path | None, working_directory: str | None,
                  workdir: Path, **options: Any) -> ApiSpec:
    """The pipeline up to discovery (the same stages, limits, masking and cleanup as `test`),
    its logs in `workdir`; `options` are the other `target_options`. Raises the stage's
    error."""
    from runner.config import build_config
    from runner.pipeline import run_pipeline

    where = repo_options(path, branch, pr_number, commit, clone_token(token, token_file),
                         working_directory)
    if not where.get("repo_url") and not Path(path).is_dir():
        raise UsageError(f"{path} is not a folder.", "Give the path of the API's repository.")
    config = build_config({**explicit_inputs(set_on_command_line(options)), **where,
                           "output_dir": workdir, "workspace_root": workdir})
    run = run_pipeline(config, lambda line: None, until="spec")
    if run.error is not None:
        raise run.error
    assert run.spec is not None
    return run.spec
