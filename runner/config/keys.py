"""One converter per key of the config file: the value, already of the shape the schema allows
(schema.py), into `RunConfig` fields. A converter raises `UsageError` naming its key for what
the schema cannot say: a selector's grammar, which kind of auth, a path leading nowhere."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.config.select import METHODS, parse_selector
from runner.errors import UsageError
from runner.models import AuthConfig, AuthStep

Fields = dict[str, Any]


def _strings(value: str | list[str]) -> tuple[str, ...]:
    return tuple(item.strip() for item in ([value] if isinstance(value, str) else value))


def _file(key: str, value: str, root: Path) -> Path:
    """A file path of the config, relative to the app's folder. Whether it is a readable file
    inside the repository is checked with the other files (`build.check_files`)."""
    if Path(value).is_absolute():
        raise UsageError(f"`{key}` names {value}: give a path relative to the app's folder.")
    return Path(os.path.normpath(root / value))


def clean_python(value: str, root: Path) -> Fields:
    text = value.strip()
    if "/" in text or text.startswith(("~", ".")):
        path = Path(text).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.exists():
            raise UsageError(f"`python` names {text}, which does not exist in {root}.",
                             'Give a version ("3.12", ">=3.11") or an existing interpreter.')
        return {"python": str(path)}
    return {"python_version": text}


def clean_install(value: bool | str | dict[str, Any], root: Path) -> Fields:
    """`install: false`, `install: "command"`, or `install: {extra: [...], command: ...}`:
    packages added or pinned on top of the automatic install (`extra: ["bcrypt<4"]`)."""
    if isinstance(value, bool):
        return {"install": value}
    if isinstance(value, str):
        return {"install": True, "install_command": value.strip()}
    found: Fields = {"install": True}
    if "extra" in value:
        found["install_extra"] = _strings(value["extra"])
    if "command" in value:
        found["install_command"] = value["command"].strip()
    return found


def clean_ready(value: str | dict[str, Any], root: Path) -> Fields:
    spec = {"path": value} if isinstance(value, str) else value
    found: Fields = {}
    if "path" in spec:
        found["ready_path"] = spec["path"].strip()
    if "timeout" in spec:
        found["_timeouts"] = {"start": float(spec["timeout"])}
    return found


def clean_spec(value: str, root: Path) -> Fields:
    location = value.strip()
    if location.startswith("/"):
        return {"spec_location": location}
    return {"spec_location": str(_file("spec", location, root)), "_spec_file": True}


def _selectors(key: str, value: str | list[str]) -> tuple[str, ...]:
    selectors = _strings(value)
    for selector in selectors:
        parse_selector(selector, key)
    return selectors


def clean_budget(value: int | dict[str, Any], root: Path) -> Fields:
    spec = {"calls": value} if isinstance(value, int) else value
    found: Fields = {}
    for key, field_name in (("calls", "max_tool_calls"), ("tokens", "max_tokens")):
        if key in spec:
            found[field_name] = spec[key]
    if "cost-usd" in spec:
        found["max_cost_usd"] = float(spec["cost-usd"])
    if "minutes" in spec:
        found["_timeouts"] = {"run": float(spec["minutes"]) * 60}
    return found


def clean_auth(value: Any, root: Path) -> Fields:
    if not isinstance(value, dict):
        return {"auth": AuthConfig(mode="auto" if value in ("auto", None) else "off")}
    kinds = [k for k in ("value", "basic", "login") if k in value]
    if len(kinds) != 1:
        raise UsageError("`auth` needs exactly one of value (a static header), basic "
                         "({username, password}) or login ({operation, form|json}); "
                         f"found {', '.join(kinds) or 'none'}.")
    if "register" in value and kinds != ["login"]:
        raise UsageError("`auth.register` only goes with `auth.login`.")
    header = value.get("header", "Authorization").strip()
    if kinds == ["value"]:
        return {"auth": AuthConfig(mode="static", header=header, value=value["value"].strip())}
    if kinds == ["basic"]:
        basic = value["basic"]
        return {"auth": AuthConfig(mode="basic", header=header,
                                   username=basic["username"].strip(),
                                   password=basic["password"].strip())}
    register = _auth_step("auth.register", value["register"]) if "register" in value else None
    token = value["token"].strip() if "token" in value else None
    return {"auth": AuthConfig(mode="login", header=header,
                               login=_auth_step("auth.login", value["login"]),
                               register=register, token=token, scheme=value.get("scheme"))}


def _auth_step(key: str, value: dict[str, Any]) -> AuthStep:
    given = [c for c in ("form", "json", "basic") if c in value]
    if len(given) > 1:
        raise UsageError(f"`{key}` accepts operation and one of form, json or basic; got "
                         f"{', '.join(sorted(value))}.")
    method, path = parse_operation(key, value["operation"])
    content = given[0] if given else "json"
    return AuthStep(method=method, path=path, body=value.get(content), content=content)


def parse_operation(key: str, value: str) -> tuple[str, str]:
    method, _, path = value.strip().partition(" ")
    method, path = method.upper(), path.strip()
    if method not in METHODS or not path.startswith("/"):
        raise UsageError(f"`{key}.operation` must be METHOD /path (for example POST /token), "
                         f"not {value!r}.", f"Methods: {', '.join(METHODS)}.")
    return method, path




CONVERTERS: dict[str, Callable[[Any, Path], Fields]] = {
    "working-directory": lambda value, root: {},  # read first, in build.working_directory
    "app": lambda value, root: {"app": value.strip()},
    "python": clean_python,
    "install": clean_install,
    "env": lambda value, root: {"_env": {name: str(item) for name, item in value.items()}},
    "env-files": lambda value, root: {
        "_env_files": tuple(_file("env-files", name, root) for name in _strings(value))},
    "setup": lambda value, root: {"setup": _strings(value)},
    "start": lambda value, root: {"start_command": value.strip()},
    "ready": clean_ready,
    "spec": clean_spec,
    "include": lambda value, root: {"include": _selectors("include", value)},
    "exclude": lambda value, root: {"exclude": _selectors("exclude", value)},
    "auth": clean_auth,
    "django": lambda value, root: {"django_debug": value.get("debug", False)},
    "scenarios": lambda value, root: {
        "scenarios_path": _file("scenarios", value.strip(), root)},
    "budget": clean_budget,
}
