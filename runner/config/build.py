"""Building a run's `RunConfig`: defaults < the project's config file < explicit inputs
(command-line flags, action inputs, Python API keywords), in one function, `build_config`.

Each face hands over only what was given (a flag left at its default, an empty action input, a
keyword left None are absent); `build_config(explicit)` makes the config before the repository
is at hand, and the repo stage's `apply_project_config(config)` reads the project's file and
builds it again with the file under the same explicit inputs. The file is checked against the
schema (schema.py), each key is converted by its function (keys.py), and every problem is
reported at once.

Paths in the file are relative to the app's folder (the `working-directory`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from runner import trust, untrusted
from runner.config import schema
from runner.config.files import read_config_file, read_env_file, read_project_config
from runner.config.keys import CONVERTERS, Fields
from runner.errors import UsageError
from runner.models import AuthConfig, RunConfig, Timeouts


def auth_texts(auth: AuthConfig) -> list[str | None]:
    """Every string of the auth settings that may hold ${NAME} references."""
    texts = [auth.value, auth.username, auth.password]
    for step in (auth.login, auth.register):
        if step and step.body:
            texts += [str(v) for v in step.body.values()]
    return texts


def grant_references(auth: AuthConfig | None, allow_env: tuple[str, ...],
                     where: str = "`auth`") -> AuthConfig | None:
    """`auth` with the values of the runner variables it references, each of which the workflow
    must have granted (UsageError otherwise, see runner/trust.py)."""
    if auth is None:
        return None
    names = trust.references(auth_texts(auth))
    if not names:
        return auth
    return replace(auth, env=trust.resolve(names, allow_env, where))


# -- building the RunConfig -------------------------------------------------------------------

# Settings the file sets together: an explicit value for one of them drops the file's whole group
# (--python, an existing interpreter, beats the file's version request; --install-command its
# install section; --scenarios, the user's own file, the project's).
TOGETHER = (frozenset({"python", "python_version"}),
            frozenset({"install", "install_command", "install_extra"}),
            frozenset({"scenarios_path", "scenarios_root"}))


def _timeouts(value: Timeouts | Mapping[str, float] | None) -> dict[str, float]:
    return asdict(value) if isinstance(value, Timeouts) else dict(value or {})


def build_config(explicit: Mapping[str, Any], project: Mapping[str, Any] | None = None,
                 base: RunConfig | None = None) -> RunConfig:
    """The run's settings: defaults < `project` < `explicit`.

    Both layers hold RunConfig fields, only those set: a value of None is "not given", and
    "timeouts" is a mapping of the timeouts set (a whole `Timeouts` sets them all). `app_env`
    merges (the file's settings under the given ones). `base` is a config built before (its
    own explicit inputs stay above `project`); without it, the defaults.
    """
    given = {name: value for name, value in explicit.items() if value is not None}
    timeouts = _timeouts(given.pop("timeouts", None))
    if base is None:
        config = RunConfig(**given, timeouts=Timeouts(**timeouts))
        layer = given
        held_timeouts = timeouts
    else:
        config = replace(base, **given, timeouts=replace(base.timeouts, **timeouts))
        layer = {**base.explicit, **given}
        held_timeouts = {**_timeouts(base.explicit.get("timeouts")), **timeouts}
    config = replace(config, explicit={**layer, "timeouts": held_timeouts})
    if not project:
        return config
    held = set(layer)
    for group in TOGETHER:
        if group & held:
            held |= group
    fill = {name: value for name, value in project.items()
            if name not in held and name not in ("timeouts", "app_env")}
    if "scenarios_path" not in fill:  # the file's suite (custom) comes with its scenarios
        fill.pop("suite", None)
    file_timeouts = {name: value for name, value in _timeouts(project.get("timeouts")).items()
                     if name not in held_timeouts}
    return replace(config, **fill, timeouts=replace(config.timeouts, **file_timeouts),
                   app_env={**project.get("app_env", {}), **config.app_env})


def working_directory(folder: Path, raw: Mapping[str, Any]) -> Path:
    value = raw.get("working-directory")
    if not isinstance(value, str) or not value.strip():
        return folder  # absent, or reported by the schema
    text = value.strip()
    root = (folder / text).resolve()
    if not root.is_dir():
        raise UsageError(f"`working-directory` names {text}, which is not a folder in {folder}.")
    if not root.is_relative_to(folder.resolve()):
        raise UsageError(f"`working-directory` {text} leads outside {folder}.")
    return root


def check_files(found: Fields, boundary: Path, problems: list[str]) -> dict[str, str]:
    """The files the config names must be regular files inside the repository (`boundary`),
    readable with the pull request's rights (runner/untrusted.py); the env files are read now.
    Returns the merged env files' settings."""
    named = {"scenarios": found.get("scenarios_path"),
             "spec": Path(found["spec_location"]) if found.pop("_spec_file", False) else None}
    for key, path in named.items():
        try:
            # A spec file may be written by a setup step: read after setup (orchestrator.py).
            if key == "spec" and found.get("setup"):
                continue
            if path is not None and not untrusted.exists(boundary, path, f"`{key}`"):
                problems.append(f"`{key}` names {path.name}, which is not a file in the "
                                "repository.")
        except UsageError as exc:
            problems.append(exc.message)
    env: dict[str, str] = {}
    for path in found.pop("_env_files", ()):
        try:
            env.update(read_env_file(path, boundary))
        except UsageError as exc:
            problems.append(exc.message)
    return env


def apply_project_config(config: RunConfig, boundary: Path | None = None) -> RunConfig:
    """`config` built again with the project's config file under its explicit inputs
    (`build_config`).

    The `.env` file in the app's folder and the config's `env-files` and `env` are merged under
    the given `app_env` (later wins: .env, env-files, env, flags). Every file of the project
    is read inside `boundary` (the repository's run copy; default: `config.repo_path`).
    """
    folder = config.repo_path
    boundary = (boundary or folder).absolute()
    if config.config_file is not None:  # --config FILE: the user's own file, not the PR's
        raw, source = read_config_file(config.config_file)
    else:
        raw, source = read_project_config(folder, boundary) if folder.is_dir() else ({}, None)
    problems: list[str] = []
    try:
        root = working_directory(folder, raw)
    except UsageError as exc:
        problems.append(exc.message)
        root = folder
    invalid = schema.problems(raw)
    problems += invalid.values()
    found: Fields = {}
    for key, value in raw.items():
        if key in invalid:
            continue
        try:
            cleaned = CONVERTERS[key](value, root)
        except UsageError as exc:
            problems.append(exc.message + (f" {exc.hint}" if exc.hint else ""))
            continue
        timeouts = {**found.get("_timeouts", {}), **cleaned.pop("_timeouts", {})}
        found.update(cleaned, **({"_timeouts": timeouts} if timeouts else {}))
    dotenv = root / ".env"
    try:
        if untrusted.exists(boundary, dotenv, "the .env file"):
            found["_env_files"] = (dotenv, *found.get("_env_files", ()))
    except UsageError as exc:
        problems.append(exc.message)
    env = check_files(found, boundary, problems)
    if problems:
        raise UsageError(f"{source or 'The project'}: " + " ".join(problems),
                         "See 'Configuration file' in the README.")
    env.update(found.pop("_env", {}))
    settable = {f.name for f in fields(RunConfig)}
    project = {k: v for k, v in found.items() if k in settable}
    project.update(timeouts=found.pop("_timeouts", {}), app_env=env)
    if "scenarios_path" in project:  # the repository's file: read with the PR's rights
        project["scenarios_root"] = boundary
        if config.agent_kind == "llm":  # and it is what the LLM agent runs
            project["suite"] = "custom"
    applied = build_config({}, project, base=config)
    from_file = applied.auth is not None and applied.auth is project.get("auth")
    auth = grant_references(applied.auth, config.allow_env,
                            f"`auth` in {source}" if from_file else "`auth`")
    return replace(applied, auth=auth, boundary=boundary, repo_path=root)
