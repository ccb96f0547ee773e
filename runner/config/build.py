"""Building a run's `RunConfig` from defaults <- the project's config file <- command-line flags
(or action inputs): `apply_project_config(config, given)` fills every field the caller did not
set explicitly from the file. The file is checked against the schema (schema.py), each key is
converted by its function (keys.py), and every problem is reported at once.

Paths in the file are relative to the app's folder (the `working-directory`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from runner import trust, untrusted
from runner.config import schema
from runner.config.files import read_config_file, read_env_file, read_project_config
from runner.config.keys import CONVERTERS, Fields
from runner.errors import UsageError
from runner.models import AuthConfig, RunConfig


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


def apply_project_config(config: RunConfig, given: Collection[str] = (),
                         boundary: Path | None = None) -> RunConfig:
    """`config` with the project's config file applied under the fields named in `given` (those
    the user set explicitly; "timeouts.start" style names for single timeouts).

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
    timeouts = {k: v for k, v in found.pop("_timeouts", {}).items()
                if f"timeouts.{k}" not in given}
    if "python" in given:  # --python (an existing interpreter) beats any version request
        found.pop("python", None)
        found.pop("python_version", None)
    if "install" in given or "install_command" in given:
        found.pop("install", None)
        found.pop("install_command", None)
        found.pop("install_extra", None)
    settable = {f.name for f in fields(RunConfig)}
    updates = {k: v for k, v in found.items() if k in settable and k not in given}
    updates["auth"] = grant_references(updates.get("auth", config.auth), config.allow_env,
                                       f"`auth` in {source}" if "auth" in updates else "`auth`")
    return replace(
        config,
        **updates,
        boundary=boundary,
        repo_path=root,
        app_env={**env, **config.app_env},
        timeouts=replace(config.timeouts, **timeouts),
    )
