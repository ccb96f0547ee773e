"""`api-mcp-test init`: the `.api-mcp-test.yml` that would make the run work, written from what
discovery learned (the app, the API's folder, settings the app refused to start without, login
operations, the Python version), each line with a comment saying why it is there."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import pythons
from runner.config.schema import schema
from runner.dependencies import PYPI_NAMES
from runner.discovery.entrypoints import DEPENDENCY_FILES
from runner.discovery.gates import example_settings, placeholder
from runner.discovery.messages import DiscoveryFailure, env_gates, missing_modules
from runner.errors import RunnerError
from runner.models import ApiSpec

LOGIN_PATH = re.compile(r"(?:^|/)(?:login|log-in|signin|sign-in|token|jwt/create|auth)(?:/|$)",
                        re.IGNORECASE)
REGISTER_PATH = re.compile(r"(?:^|/)(?:register|registration|signup|sign-up|users)/?$",
                           re.IGNORECASE)


@dataclass
class Learned:
    """What `init` found out about a repository."""

    shown: str  # the folder as the user named it
    spec: ApiSpec | None = None  # the app, when found
    working_directory: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # settings the app needed (placeholders)
    env_file: str | None = None  # the project's example settings file that has them
    extra: list[str] = field(default_factory=list)  # modules it imports but nothing installs
    own_missing: list[str] = field(default_factory=list)  # its own modules kept out of git
    own_names: dict[str, list[str]] = field(default_factory=dict)  # names those must define
    python: str | None = None  # a version the project names only as a hint (Dockerfile)
    python_source: str = ""
    problem: str | None = None  # what still stops the run, if anything
    tried: list[str] = field(default_factory=list)  # candidates, for comments


def config_text(learned: Learned) -> str:
    """The commented YAML for `learned`."""
    lines = [f"# yaml-language-server: $schema={schema()['$id']}",  # editor completion
             f"# .api-mcp-test.yml for {learned.shown}, written by `api-mcp-test init`.",
             "# Every key is optional; see 'Configuration file' in the README."]
    if learned.problem:
        lines += ["#", "# Discovery did not succeed yet:"]
        lines += [f"#   {part}" for part in _wrap(learned.problem)]
    if learned.working_directory:
        lines += ["", "# The API lives in a subfolder of the repository.",
                  f"working-directory: {learned.working_directory}"]
    spec = learned.spec
    if spec is not None:
        lines += ["", (f"# The {spec.framework} app discovery found ({len(spec.endpoints)} "
                      "operations). Remove to let discovery choose."), f"app: {spec.app_locator}"]
    elif learned.tried:
        lines += ["", "# Candidates tried (uncomment the right one):"]
        lines += [f"# app: {entry}" for entry in learned.tried[:5]]
    if learned.python:
        lines += ["", (f"# Python {learned.python}: {learned.python_source}; old pinned requirements "
                      "may only build on the Python of their time."), f'python: "{learned.python}"']
    if learned.extra:
        listed = ", ".join(f'"{name}"' for name in learned.extra)
        lines += ["", ("# Imported by the app but installed by nothing: added on top of the "
                      "automatic install (check the PyPI names)."), "install:",
                  f"  extra: [{listed}]"]
    if learned.own_missing:
        lines += ["", ("# The project's own modules missing from the repository (kept out of git): "
                      "made with placeholder values before the run. Fill in what they define."),
                  "setup:"]
        for module in learned.own_missing:
            path = module.replace(".", "/") + ".py"
            values = "".join(f'{name} = "{placeholder(name)}"\\n'
                             for name in learned.own_names.get(module, ["SECRET_KEY"]))
            lines.append(f"  - test -f {path} || printf '{values}' > {path}")
    if learned.env_file:
        lines += ["", "# The project's example settings, which name what the app needs.",
                  f"env-files: [{learned.env_file}]"]
    if learned.env:
        lines += ["", ("# Settings the app refused to start without (placeholder values: not "
                      "secrets; use ${NAME} with --allow-env NAME for real ones)."), "env:"]
        lines += [f'  {name}: "{value}"' for name, value in learned.env.items()]
    if spec is not None and spec.framework == "django":
        lines += ["", ("# Serve the project with DEBUG on for the test run only (loopback hosts "
                      "allowed)."), "django: {debug: true}"]
    lines += _auth_lines(spec)
    return "\n".join(lines) + "\n"


def _auth_lines(spec: ApiSpec | None) -> list[str]:
    if spec is None:
        return []
    posts = [e for e in spec.endpoints if e.method.upper() == "POST"]
    logins = [e for e in posts if LOGIN_PATH.search(e.path.rstrip("/") + "/")
              and "refresh" not in e.path and "verify" not in e.path]
    registers = [e for e in posts if REGISTER_PATH.search(e.path)]
    if not logins:
        return []
    login = logins[0]
    lines = ["", ("# Login operations found; the run logs in by itself when it can. To be explicit "
                 "(a sign-up, then a login with the same throwaway user):"), "# auth:"]
    if registers:
        lines.append(f"#   register: {{operation: {registers[0].method.upper()} "
                     f"{registers[0].path}, json: {{username: \"${{user.username}}\", "
                     f"password: \"${{user.password}}\"}}}}")
    lines.append(f"#   login: {{operation: POST {login.path}, json: {{username: "
                 f"\"${{user.username}}\", password: \"${{user.password}}\"}}}}")
    others = ", ".join(f"POST {e.path}" for e in logins[1:4])
    if others:
        lines.append(f"#   (other login-like operations: {others})")
    return lines


def _wrap(text: str, width: int = 90) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        if current and len(current) + len(word) + 1 > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return lines + ([current] if current else [])


def learn(discover: Callable[..., ApiSpec], options: dict[str, Any],
          attempts: int = 8) -> tuple[Learned, str]:
    """Run `discover` (the CLI's install + discovery) until it finds the app or learns nothing
    new: a failure naming settings the app needs is retried with placeholders for them, one
    naming only API subfolders is retried in the first. Returns what was learned and the
    config text."""
    options = dict(options)
    app_env = list(options.pop("app_env", ()))
    learned = Learned(shown=str(options["path"]))
    local = Path(str(options["path"]))
    if local.is_dir():
        request = pythons.requested_python(local)
        if request is not None and request.hint:
            learned.python, learned.python_source = request.request, request.source
    for _ in range(attempts):
        with tempfile.TemporaryDirectory(prefix="api-mcp-test-init-") as tmp:
            try:
                learned.spec = discover(workdir=Path(tmp), app_env=tuple(app_env), **options)
                learned.problem = None
                # Settings discovery filled with placeholders by itself: written out too.
                learned.env.update(learned.spec.filled_env)
                learned.extra += [p for p in learned.spec.filled_packages
                                  if p not in learned.extra]
                for module, names in learned.spec.filled_modules:
                    learned.own_missing.append(module)
                    learned.own_names[module] = list(names)
                break
            except DiscoveryFailure as exc:
                learned.problem = exc.user_message()
                learned.tried = [e.locator for e in exc.entries]
                for module in missing_modules(exc.errors, local=True):
                    if module not in learned.own_missing:
                        learned.own_missing.append(module)
                for module in missing_modules(exc.errors):
                    name = PYPI_NAMES.get(module, module)
                    if name not in learned.extra:
                        learned.extra.append(name)
                # A monorepo: the API's folder, when nothing at the root says how to install it.
                bare_root = not any((local / name).is_file() for name in DEPENDENCY_FILES)
                if (exc.folders and (not exc.entries or bare_root)
                        and not options.get("working_directory")):
                    options["working_directory"] = learned.working_directory = exc.folders[0]
                    continue
                gates = [name for name in env_gates(exc.errors) if name not in learned.env]
                if not gates:
                    break
                example = example_settings(local / (options.get("working_directory") or ""),
                                           gates) if learned.env_file is None else None
                if example is not None:  # its values, for this and every later attempt
                    learned.env_file, values = example
                    app_env[:0] = [f"{k}={v}" for k, v in values.items()]
                    gates = [name for name in gates if name not in values]
                for name in gates:
                    learned.env[name] = placeholder(name)
                    app_env.append(f"{name}={learned.env[name]}")
            except RunnerError as exc:
                learned.problem = exc.user_message()
                if exc.stage == "install" and '`python: "3.8"`' in exc.hint and not learned.python:
                    # An old pin that only builds on the Python of its time: a guess to check.
                    learned.python = "3.8"
                    learned.python_source = "a guess, as the install failed building an old pin"
                break
    return learned, config_text(learned)

