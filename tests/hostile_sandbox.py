"""Hostile corpus cases run as root with `API_MCP_TEST_SANDBOX_USER` (the action image's privilege
drop; collected by tests/corpus.py `all_cases()`): the attack classes where the drop matters.

- file reads: links and FIFOs in place of the files the runner reads (`.env`, the spec, the
  config file, the probe's result file);
- environment: the app's environment, the config reaching for the runner's variables, and an
  app that reads the runner's `/proc/PID/environ` (the one thing only the drop prevents);
- auth: a login obtained by the runner (root) reaches the MCP server (the sandbox user);
- process cleanup: setsid daemons, a grandchild holding stdout, an app ignoring SIGTERM;
- the action, sandboxed, with daemons and an app echoing secrets.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from tests.corpus import (
    APP_SECRET,
    BASE_CASES,
    FAST,
    FOREIGN_NAMES,
    SANDBOX_USER,
    Case,
    Outcome,
    secrets_in,
)
from tests.helpers import FIXTURES
from tests.hostile_inputs import INPUT_CASES
from tests.hostile_limits import LIMIT_CASES, _app
from tests.hostile_publish import PUBLISH_CASES

SUFFIX = " (as root with the sandbox user)"


def _sandboxed(name: str, check: object = None) -> Case:
    case = next(c for c in (*BASE_CASES, *INPUT_CASES, *LIMIT_CASES, *PUBLISH_CASES)
                if c.name == name)
    return replace(case, name=name + SUFFIX, sandbox=True, check=check or case.check)


def _env_as_sandbox_user(outcome: Outcome) -> None:
    calls = [json.loads(line) for line in outcome.outputs["calls.jsonl"].splitlines()]
    seen = next(c["body"] for c in calls if c["status_code"] == 200)
    assert seen["USER"] == SANDBOX_USER and seen[APP_SECRET[0]] == "***"
    assert outcome.names_seen == [] and not set(FOREIGN_NAMES) & set(seen)


def reads_runner_environ(repo: Path) -> None:
    """At import (the probe) and on each request (the app), read the environment of every
    ancestor process, the runner's included, and note the outcome in the case's leak folder."""
    (repo.parent / "leak").mkdir(parents=True, exist_ok=True)
    (repo.parent / "leak").chmod(0o777)
    _app(repo, '''
@app.get("/peek")
def peek() -> dict:
    return {"read": steal("app")}
''', prologue='''
import base64

LEAK = os.path.join(os.path.dirname(PIDS), "leak")


def steal(label):
    found = {}
    pid = os.getpid()
    while pid > 1:
        try:
            with open("/proc/%d/environ" % pid, "rb") as handle:
                found[pid] = base64.b64encode(handle.read()).decode()
        except OSError as exc:
            found[pid] = type(exc).__name__
        with open("/proc/%d/stat" % pid) as handle:
            pid = int(handle.read().rsplit(")", 1)[1].split()[1])
    with open(os.path.join(LEAK, "%s-%d" % (label, os.getpid())), "w") as handle:
        handle.write(repr(found))
    return found


steal("import")
''')


def _environ_not_read(outcome: Outcome) -> None:
    leaks = {p.name: p.read_text() for p in (outcome.workdir / "leak").iterdir()}
    assert any(n.startswith("import") for n in leaks) and any(n.startswith("app") for n in leaks)
    # Its own environment it reads; the runner's (root's) the kernel refuses.
    assert all("PermissionError" in text for text in leaks.values()), leaks
    assert secrets_in(leaks) == []
    assert outcome.report is not None and outcome.report["test_results"]


def _auth_reached_the_mcp_server(outcome: Outcome) -> None:
    report = outcome.report
    assert report is not None and report["auth"]["ok"], report and report["auth"]
    assert report["summary"]["skipped"] == 0 and report["summary"]["failed"] == 0
    codes = {f"{r['method']} {r['endpoint']}": {c["status_code"] for c in r["calls"]
                                                if c["intent"] != "no_auth"}
             for r in report["test_results"]}
    assert codes["GET /api/me"] == {200}, codes  # protected: only with the credentials


SANDBOX_CASES = [
    # File reads.
    _sandboxed(".env symlinked to the runner's environ"),
    _sandboxed("spec file symlinked to the runner's environ"),
    _sandboxed("config file symlinked to the runner's environ"),
    _sandboxed("FIFO in place of .env"),
    _sandboxed("FIFO as the probe result file"),
    _sandboxed("symlink as the probe result file"),
    # Environment.
    _sandboxed("endpoint echoes its environment", check=_env_as_sandbox_user),
    _sandboxed("config expands the runner's token"),
    Case("app reads the runner's /proc/PID/environ" + SUFFIX, 0, None, (),
         build=reads_runner_environ, args=FAST, sandbox=True, check=_environ_not_read),
    # Auth under the privilege drop (issue 12, item 9).
    Case("login by the runner, calls by the sandboxed MCP server" + SUFFIX, 0, None, (),
         FIXTURES / "auth_flask_basic_token", args=(*FAST, "--timeout", "240"), sandbox=True,
         check=_auth_reached_the_mcp_server),
    # Process cleanup.
    _sandboxed("setsid daemons started by the app"),
    _sandboxed("setsid grandchild holding stdout"),
    _sandboxed("app ignores SIGTERM"),
    # The action.
    _sandboxed("setsid daemons started by the app, as the action"),
    _sandboxed("app echoes a secret encoded, as the action"),
]
