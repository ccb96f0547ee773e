"""The project's own configuration file: `.api-mcp-test.yml` (or `[tool.api-mcp-test]` in
pyproject.toml) in the folder being tested.

A run's `RunConfig` is built from defaults <- this file <- command-line flags (or action inputs):
`apply_project_config(config, given)` fills every field the caller did not set explicitly from the
file. Each key has one `clean_<key>` function that returns `RunConfig` fields or raises
`UsageError` naming the key and what it accepts; every bad key is reported at once.

Paths in the file are relative to the app's folder (the `working-directory`).
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import yaml

from runner import trust, untrusted
from runner.errors import UsageError
from runner.models import ApiSpec, AuthConfig, AuthStep, Endpoint, RunConfig
from runner.openapi import check_operation_count

CONFIG_FILES = (".api-mcp-test.yml", ".api-mcp-test.yaml")
PYPROJECT_TABLE = "tool.api-mcp-test"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")
AUTH_KEYS = ("header", "value", "basic", "login", "register", "token", "scheme")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Fields = dict[str, Any]


# -- reading ------------------------------------------------------------------------------------


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
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{found[0]} is not valid YAML: {untrusted.parse_error(exc)}.",
                         "Fix the file (see 'Configuration file' in the README).") from None
    if data is None:
        return {}, found[0]
    if not isinstance(data, dict):
        raise UsageError(f"{found[0]} must be a mapping of keys to values, not "
                         f"{type(data).__name__}.", f"Allowed keys: {', '.join(CLEANERS)}.")
    return data, found[0]


def parse_env_file(text: str, name: str) -> dict[str, str]:
    """NAME=VALUE lines (`export`, quotes and comments as in dotenv files). A bad line is named
    by its number, never quoted: the file may hold secrets."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _ENV_NAME.fullmatch(key):
            raise UsageError(f"{name} line {number} is not NAME=VALUE.",
                             "Write one NAME=VALUE per line (export, quotes and # comments "
                             "are allowed).")
        value = value.strip()
        quote = value[:1]
        if quote in ("'", '"') and quote in value[1:]:
            quoted = value[1:value.index(quote, 1)]
            value = quoted.replace("\\n", "\n") if quote == '"' else quoted
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def read_config_file(path: Path) -> tuple[dict[str, Any], str]:
    """A config file given with --config (outside the repository, the user's own)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--config {path}: {exc.strerror or exc}.",
                         "Give the path of a YAML file with the keys of .api-mcp-test.yml.") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"--config {path} is not valid YAML: {untrusted.parse_error(exc)}.",
                         "Fix the file (see 'Configuration file' in the README).") from None
    if not isinstance(data, dict | None):
        raise UsageError(f"--config {path} must be a mapping of keys to values.",
                         f"Allowed keys: {', '.join(CLEANERS)}.")
    return data or {}, str(path)


def read_env_file(path: Path, boundary: Path | None = None) -> dict[str, str]:
    """An env file of the repository (inside `boundary`, see untrusted; default its folder)."""
    text = untrusted.read_text(boundary or path.parent, path, "the env file")
    return parse_env_file(text, path.name)


# -- one function per key -------------------------------------------------------------------------


def _text(key: str, value: Any, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"`{key}` must be a non-empty string, for example {example}.")
    return value.strip()


def _strings(key: str, value: Any, example: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise UsageError(f"`{key}` must be a string or a list of strings, for example {example}.")
    return tuple(i.strip() for i in items)


def _file(key: str, value: str, root: Path) -> Path:
    """A file path of the config, relative to the app's folder. Whether it is a readable file
    inside the repository is checked with the other files (`check_files`)."""
    if Path(value).is_absolute():
        raise UsageError(f"`{key}` names {value}: give a path relative to the app's folder.")
    return Path(os.path.normpath(root / value))


def clean_app(value: Any, root: Path) -> Fields:
    app = _text("app", value, "app: app.main:app")
    if ":" not in app and not re.fullmatch(r"[\w.]+", app):
        raise UsageError(f"`app` must be module:attribute (for example app.main:app), not {app!r}.")
    return {"app": app}


def clean_python(value: Any, root: Path) -> Fields:
    if isinstance(value, (int, float)):
        raise UsageError(f"`python` must be quoted (YAML reads {value} as a number): write "
                         f'python: "{value}" (and "3.10", not 3.10).')
    text = _text("python", value, 'python: "3.12" or python: .venv/bin/python')
    if "/" in text or text.startswith(("~", ".")):
        path = Path(text).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.exists():
            raise UsageError(f"`python` names {text}, which does not exist in {root}.",
                             'Give a version ("3.12", ">=3.11") or an existing interpreter.')
        return {"python": str(path)}
    return {"python_version": text}


def clean_install(value: Any, root: Path) -> Fields:
    """`install: false`, `install: "command"`, or `install: {extra: [...], command: ...}`:
    packages added or pinned on top of the automatic install (`extra: ["bcrypt<4"]`)."""
    if isinstance(value, bool):
        return {"install": value}
    if isinstance(value, dict):
        unknown = set(value) - {"extra", "command"}
        if unknown:
            raise UsageError(f"`install` has unknown keys: {', '.join(sorted(map(str, unknown)))}.",
                             'Write install: {extra: ["bcrypt<4"], command: "pip install ."}.')
        found: Fields = {"install": True}
        if "extra" in value:
            found["install_extra"] = _strings("install.extra", value["extra"], '["bcrypt<4"]')
        if "command" in value:
            found["install_command"] = _text("install.command", value["command"],
                                             '"pip install -e .[api]"')
        return found
    command = _text("install", value, 'install: "pip install -e .[api]" or install: false')
    return {"install": True, "install_command": command}


def clean_env(value: Any, root: Path) -> Fields:
    if not isinstance(value, dict):
        raise UsageError("`env` must be a mapping of NAME: value, for example env: {DEBUG: 'true'}.")
    env = {}
    for name, item in value.items():
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            raise UsageError(f"`env` has the invalid variable name {name!r}.")
        if isinstance(item, (dict, list)) or item is None:
            raise UsageError(f"`env.{name}` must be a string or number, not {item!r}.")
        env[name] = str(item)
    return {"_env": env}


def clean_env_files(value: Any, root: Path) -> Fields:
    names = _strings("env-files", value, "env-files: [.env, .env.test]")
    return {"_env_files": tuple(_file("env-files", name, root) for name in names)}


def clean_setup(value: Any, root: Path) -> Fields:
    return {"setup": _strings("setup", value, '["python manage.py migrate --noinput"]')}


def clean_start(value: Any, root: Path) -> Fields:
    return {"start_command": _text("start", value, 'start: "gunicorn app:app -b 127.0.0.1:{port}"')}


def clean_ready(value: Any, root: Path) -> Fields:
    spec = {"path": value} if isinstance(value, str) else value
    if not isinstance(spec, dict) or set(spec) - {"path", "timeout"}:
        raise UsageError("`ready` must be a path or {path, timeout}, for example "
                         "ready: {path: /health, timeout: 30}.")
    found: Fields = {}
    if "path" in spec:
        path = _text("ready.path", spec["path"], "/health")
        if not path.startswith("/"):
            raise UsageError(f"`ready.path` must start with /, not {path!r}.")
        found["ready_path"] = path
    if "timeout" in spec:
        found["_timeouts"] = {"start": _seconds("ready.timeout", spec["timeout"])}
    return found


def clean_spec(value: Any, root: Path) -> Fields:
    location = _text("spec", value, "spec: /apispec.json or spec: docs/openapi.yaml")
    if "://" in location:
        raise UsageError(f"`spec` must be a path on the app ({location.split('://', 1)[1]!r} "
                         "without scheme and host) or a file, not a URL.")
    if location.startswith("/"):
        return {"spec_location": location}
    return {"spec_location": str(_file("spec", location, root)), "_spec_file": True}


def clean_include(value: Any, root: Path) -> Fields:
    return {"include": _selectors("include", value)}


def clean_exclude(value: Any, root: Path) -> Fields:
    return {"exclude": _selectors("exclude", value)}


def _selectors(key: str, value: Any) -> tuple[str, ...]:
    selectors = _strings(key, value, '["GET /admin/*", "tag:internal"]')
    for selector in selectors:
        parse_selector(selector, key)
    return selectors


def clean_scenarios(value: Any, root: Path) -> Fields:
    return {"scenarios_path": _file("scenarios", _text("scenarios", value, "scenarios.yml"), root)}


def clean_budget(value: Any, root: Path) -> Fields:
    spec = {"calls": value} if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(spec, dict) or not spec or set(spec) - {"calls", "minutes", "tokens",
                                                               "cost-usd"}:
        raise UsageError("`budget` must be a number of tool calls or a mapping of calls, "
                         "minutes, tokens and cost-usd, for example budget: {calls: 300, "
                         "minutes: 20, tokens: 500000, cost-usd: 2}.")
    found: Fields = {}
    for key, field_name in (("calls", "max_tool_calls"), ("tokens", "max_tokens")):
        if key in spec:
            number = spec[key]
            if not isinstance(number, int) or isinstance(number, bool) or number < 1:
                raise UsageError(f"`budget.{key}` must be a whole number >= 1, not {number!r}.")
            found[field_name] = number
    if "cost-usd" in spec:
        found["max_cost_usd"] = _seconds("budget.cost-usd", spec["cost-usd"])
    if "minutes" in spec:
        found["_timeouts"] = {"run": _seconds("budget.minutes", spec["minutes"]) * 60}
    return found


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise UsageError(f"`{key}` must be a positive number, not {value!r}.")
    return float(value)


def clean_auth(value: Any, root: Path) -> Fields:
    if value in ("auto", None):
        return {"auth": AuthConfig(mode="auto")}
    if value in (False, "off", "none"):
        return {"auth": AuthConfig(mode="off")}
    if not isinstance(value, dict):
        raise UsageError("`auth` must be auto, off, or a mapping with value, basic or login "
                         "(see 'Authentication' in the README).")
    unknown = sorted(set(value) - set(AUTH_KEYS))
    if unknown:
        raise UsageError(f"`auth` has unknown keys: {', '.join(unknown)}.",
                         f"Allowed keys: {', '.join(AUTH_KEYS)}.")
    kinds = [k for k in ("value", "basic", "login") if k in value]
    if len(kinds) != 1:
        raise UsageError("`auth` needs exactly one of value (a static header), basic "
                         "({username, password}) or login ({operation, form|json}); "
                         f"found {', '.join(kinds) or 'none'}.")
    header = _text("auth.header", value.get("header", "Authorization"), "Authorization")
    scheme = value.get("scheme")
    if scheme is not None and not isinstance(scheme, str):
        raise UsageError(f"`auth.scheme` must be a string such as Bearer or Token, not {scheme!r}.")
    token = value.get("token")
    if token is not None:
        token = _text("auth.token", token, "$.access_token")
        if not token.startswith("$"):
            raise UsageError(f"`auth.token` must be a JSON path starting with $, not {token!r}.")
    register = _auth_step("auth.register", value["register"]) if "register" in value else None
    if kinds == ["value"]:
        auth = AuthConfig(mode="static", header=header,
                          value=_text("auth.value", value["value"], '"Bearer ${API_TOKEN}"'))
    elif kinds == ["basic"]:
        basic = value["basic"]
        if not isinstance(basic, dict) or set(basic) != {"username", "password"}:
            raise UsageError("`auth.basic` must be {username, password}, for example "
                             "{username: tester, password: '${API_PASSWORD}'}.")
        auth = AuthConfig(mode="basic", header=header,
                          username=_text("auth.basic.username", basic["username"], "tester"),
                          password=_text("auth.basic.password", basic["password"],
                                         "${API_PASSWORD}"))
    else:
        auth = AuthConfig(mode="login", header=header, login=_auth_step("auth.login",
                          value["login"]), register=register, token=token, scheme=scheme)
    if register is not None and auth.mode != "login":
        raise UsageError("`auth.register` only goes with `auth.login`.")
    return {"auth": auth}


def _auth_step(key: str, value: Any) -> AuthStep:
    if not isinstance(value, dict) or "operation" not in value:
        raise UsageError(f"`{key}` must be a mapping with `operation` (for example "
                         '"POST /token") and optionally `form`, `json` or `basic`.')
    given = [c for c in ("form", "json", "basic") if c in value]
    unknown = sorted(set(value) - {"operation", "form", "json", "basic"})
    if unknown or len(given) > 1:
        raise UsageError(f"`{key}` accepts operation and one of form, json or basic; got "
                         f"{', '.join(sorted(value))}.")
    method, path = parse_operation(key, value["operation"])
    content = given[0] if given else "json"
    body = value.get(content)
    if body is not None and not isinstance(body, dict):
        raise UsageError(f"`{key}.{content}` must be a mapping of field: value.")
    if content == "basic" and set(body or {}) != {"username", "password"}:
        raise UsageError(f"`{key}.basic` must be {{username, password}}: the HTTP basic "
                         "credentials the operation answers a token for.")
    return AuthStep(method=method, path=path, body=body, content=content)


def parse_operation(key: str, value: Any) -> tuple[str, str]:
    text = _text(f"{key}.operation", value, '"POST /token"')
    method, _, path = text.partition(" ")
    method, path = method.upper(), path.strip()
    if method not in METHODS or not path.startswith("/"):
        raise UsageError(f"`{key}.operation` must be METHOD /path (for example POST /token), "
                         f"not {text!r}.", f"Methods: {', '.join(METHODS)}.")
    return method, path


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


def clean_django(value: Any, root: Path) -> Fields:
    if not isinstance(value, dict) or set(value) - {"debug"}:
        raise UsageError("`django` must be a mapping with `debug`, for example "
                         "django: {debug: true}.")
    debug = value.get("debug", False)
    if not isinstance(debug, bool):
        raise UsageError(f"`django.debug` must be true or false, not {debug!r}.")
    return {"django_debug": debug}


CLEANERS: dict[str, Callable[[Any, Path], Fields]] = {
    "working-directory": lambda value, root: {},  # read first, in apply_project_config
    "app": clean_app,
    "python": clean_python,
    "install": clean_install,
    "env": clean_env,
    "env-files": clean_env_files,
    "setup": clean_setup,
    "start": clean_start,
    "ready": clean_ready,
    "spec": clean_spec,
    "include": clean_include,
    "exclude": clean_exclude,
    "auth": clean_auth,
    "django": clean_django,
    "scenarios": clean_scenarios,
    "budget": clean_budget,
}


# -- building the RunConfig -------------------------------------------------------------------


def working_directory(folder: Path, raw: Mapping[str, Any]) -> Path:
    value = raw.get("working-directory")
    if value is None:
        return folder
    text = _text("working-directory", value, "working-directory: services/api")
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
    found: Fields = {}
    for key, value in raw.items():
        cleaner = CLEANERS.get(key)
        if cleaner is None:
            problems.append(f"Unknown key `{key}`; allowed keys: {', '.join(CLEANERS)}.")
            continue
        try:
            cleaned = cleaner(value, root)
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


# -- selecting operations -------------------------------------------------------------------------


def parse_selector(selector: str, key: str = "include") -> tuple[str, str | None, str | None]:
    """("tag", name, None) or ("operation", METHOD or None, path glob or None)."""
    text = selector.strip()
    if text.lower().startswith("tag:"):
        tag = text[4:].strip()
        if not tag:
            raise UsageError(f"`{key}` selector {selector!r} names no tag (tag:internal).")
        return "tag", tag, None
    method, _, rest = text.partition(" ")
    if method.upper() in METHODS or method == "*":
        path = rest.strip() or None
    else:
        method, path = "", text
    if path is not None and not path.startswith("/"):
        raise UsageError(f"`{key}` selector {selector!r} is not METHOD /path-glob, /path-glob, "
                         "METHOD or tag:NAME.")
    return "operation", (method.upper() if method and method != "*" else None), path


def matches(endpoint: Endpoint, selector: str) -> bool:
    kind, first, second = parse_selector(selector)
    if kind == "tag":
        return first in endpoint.tags
    method_ok = first is None or endpoint.method == first
    return method_ok and (second is None or fnmatch.fnmatchcase(endpoint.path, second))


def select_operations(spec: ApiSpec, include: tuple[str, ...], exclude: tuple[str, ...]) -> ApiSpec:
    """The spec with only the operations `include` selects (all when empty), minus `exclude`;
    more operations than a run can serve is a discovery error naming include/exclude."""
    if not include and not exclude:
        check_operation_count(len(spec.endpoints))
        return spec
    chosen = [e for e in spec.endpoints
              if (not include or any(matches(e, s) for s in include))
              and not any(matches(e, s) for s in exclude)]
    check_operation_count(len(chosen))
    return replace(spec, endpoints=chosen)
