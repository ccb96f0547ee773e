"""Reading the project's files: the config file (`.api-mcp-test.yml`, `[tool.api-mcp-test]` in
pyproject.toml, or `--config FILE`) and env files. The repository's files are read inside the
run's copy (`boundary`, see runner/untrusted.py); an env file is never quoted in a message."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path
from typing import Any

import yaml
from dotenv.parser import parse_stream

from runner import untrusted
from runner.config.schema import keys
from runner.errors import UsageError

CONFIG_FILES = (".api-mcp-test.yml", ".api-mcp-test.yaml")
PYPROJECT_TABLE = "tool.api-mcp-test"


def read_project_config(folder: Path, boundary: Path | None = None
                        ) -> tuple[dict[str, Any], str | None]:
    """The raw mapping and the file it came from (None when the project has no config). The
    files are the repository's: read inside `boundary` (default `folder`, see untrusted)."""
    boundary = boundary or folder
    found = [name for name in CONFIG_FILES
             if untrusted.exists(boundary, folder / name, "the config file")]
    table: dict[str, Any] | None = None
    if untrusted.exists(boundary, folder / "pyproject.toml", "pyproject.toml"):
        text = untrusted.read_text(boundary, folder / "pyproject.toml", "pyproject.toml")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            data = {}  # the install stage reports a broken pyproject.toml
        table = (data.get("tool") or {}).get("api-mcp-test")
    if found and table is not None:
        raise UsageError(
            f"Both {found[0]} and [{PYPROJECT_TABLE}] in pyproject.toml configure the run.",
            "Keep the settings in one place.",
        )
    if table is not None:
        if not isinstance(table, dict):
            raise UsageError(f"[{PYPROJECT_TABLE}] in pyproject.toml is not a table.")
        return table, f"[{PYPROJECT_TABLE}] in pyproject.toml"
    if not found:
        return {}, None
    text = untrusted.read_text(boundary, folder / found[0], "the config file")
    return _mapping(text, found[0]), found[0]


def read_config_file(path: Path) -> tuple[dict[str, Any], str]:
    """A config file given with --config (outside the repository, the user's own)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--config {path}: {exc.strerror or exc}.",
                         "Give the path of a YAML file with the keys of .api-mcp-test.yml.") from None
    return _mapping(text, f"--config {path}"), str(path)


def _mapping(text: str, name: str) -> dict[str, Any]:
    try:
        data = untrusted.bounded(yaml.safe_load(text), name)  # no alias bomb
    except yaml.YAMLError as exc:
        raise UsageError(f"{name} is not valid YAML: {untrusted.parse_error(exc)}.",
                         "Fix the file (see 'Configuration file' in the README).") from None
    if not isinstance(data, dict | None):
        raise UsageError(f"{name} must be a mapping of keys to values, not "
                         f"{type(data).__name__}.", f"Allowed keys: {', '.join(keys())}.")
    return data or {}


def parse_env_file(text: str, name: str) -> dict[str, str]:
    """NAME=VALUE lines as python-dotenv reads them (`export`, quotes, escapes, # comments), but
    without `${VAR}` interpolation: it would copy the runner's own environment (its token) into
    the app's. A bad line is named by its number, never quoted: the file may hold secrets."""
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.key is None and not binding.error:
            continue  # a comment or a blank line
        if binding.error or binding.value is None:  # `NAME` alone would mean "from the host"
            line = binding.original.line + _leading_blank_lines(binding.original.string)
            raise UsageError(f"{name} line {line} is not NAME=VALUE.",
                             "Write one NAME=VALUE per line (export, quotes and # comments "
                             "are allowed).")
        values[str(binding.key)] = binding.value
    return values


def _leading_blank_lines(statement: str) -> int:
    """python-dotenv counts a statement from the blank lines before it."""
    return len(statement) - len(statement.lstrip("\n")) if statement.strip() else 0


def read_env_file(path: Path, boundary: Path | None = None) -> dict[str, str]:
    """An env file of the repository (inside `boundary`, see untrusted; default its folder)."""
    text = untrusted.read_text(boundary or path.parent, path, "the env file")
    return parse_env_file(text, path.name)
