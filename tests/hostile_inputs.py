"""Hostile corpus cases for issue 12's trust model (collected by tests/corpus.py `all_cases()`):
a pull request's own files and config trying to read the runner's secrets.

Each case writes a small FastAPI app (run with the fixture environment) plus the attack: `${NAME}`
references to the runner's variables in `.api-mcp-test.yml`, `.env` / `env-files` / `spec` /
`scenarios` / the config file itself pointing at `/proc/self/environ` (the runner's environment,
where the corpus puts FAKE_SECRETS), a FIFO in place of `.env`, and a spec URL redirecting to
another origin. The corpus asserts none of the secrets reaches any output in any encoding.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.corpus import FAST, Case, Outcome

RUNNER_ENVIRON = "/proc/self/environ"  # the runner's own environment, secrets included
GRANT = ("did not grant", "--allow-env")
OUTSIDE = ("outside the repository",)

APP = '''"""A hostile app written by tests/hostile_inputs.py."""

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

app = FastAPI(title="Notes")


@app.get("/notes")
def notes() -> list[dict]:
    return [{"id": 1, "title": "first"}]


@app.get("/moved-spec", include_in_schema=False)
def moved_spec() -> RedirectResponse:
    # Another origin (a port nobody listens on would do as well): never to be followed.
    return RedirectResponse("http://127.0.0.2:9/openapi.json", status_code=302)
'''


def _repo(config: str = "", files: dict[str, str] | None = None,
          links: dict[str, str] | None = None) -> Callable[[Path], None]:
    """A builder: the app, `.api-mcp-test.yml` (when given), more files, and symlinks."""

    def build(repo: Path) -> None:
        repo.mkdir(parents=True, exist_ok=True)
        (repo / "main.py").write_text(APP)
        if config:
            (repo / ".api-mcp-test.yml").write_text("app: main:app\n" + config)
        for name, text in (files or {}).items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_text(text)
        for name, target in (links or {}).items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).symlink_to(target)

    return build


def _fifo_env(repo: Path) -> None:
    _repo("env: {MODE: test}\n")(repo)
    os.mkfifo(repo / ".env")


def _completed_with_calls(outcome: Outcome) -> None:
    assert outcome.report is not None and outcome.report["test_results"]


INPUT_CASES = [
    Case("config expands the runner's token", 2, "config", (*GRANT, "${GITHUB_TOKEN}"),
         build=_repo('auth: {value: "Bearer ${GITHUB_TOKEN}"}\n'), args=FAST),
    Case("config login body reads CI and model secrets", 2, "config",
         (*GRANT, "${ACTIONS_RUNTIME_TOKEN}", "${ANTHROPIC_API_KEY}"),
         build=_repo("auth:\n  login: {operation: POST /token, json: {a: '${ACTIONS_RUNTIME_TOKEN}',"
                     " b: '${ANTHROPIC_API_KEY}', c: '${INPUT_ANTHROPIC_API_KEY}'}}\n"),
         args=FAST),
    Case("config basic auth reads a cloud secret", 2, "config",
         (*GRANT, "${AWS_SECRET_ACCESS_KEY}"),
         build=_repo("auth: {basic: {username: x, password: '${AWS_SECRET_ACCESS_KEY}'}}\n"),
         args=FAST),
    Case(".env symlinked to the runner's environ", 2, "config", (".env", *OUTSIDE),
         build=_repo("env: {MODE: test}\n", links={".env": RUNNER_ENVIRON}), args=FAST),
    Case("env-files names the runner's environ", 2, "config", ("relative",),
         build=_repo(f"env-files: [{RUNNER_ENVIRON}]\n"), args=FAST),
    Case("env-files climbs out with ..", 2, "config", OUTSIDE,
         build=_repo("env-files: [../../../../../../../../proc/self/environ]\n"), args=FAST),
    Case("spec file symlinked to the runner's environ", 2, "config", ("`spec`", *OUTSIDE),
         build=_repo("spec: docs/openapi.json\n", links={"docs/openapi.json": RUNNER_ENVIRON}),
         args=FAST),
    Case("scenarios symlinked to the runner's environ", 2, "config", ("`scenarios`", *OUTSIDE),
         build=_repo("scenarios: scenarios.md\n", links={"scenarios.md": RUNNER_ENVIRON}),
         args=FAST),
    Case("config file symlinked to the runner's environ", 2, "config",
         ("the config file", *OUTSIDE),
         build=_repo(links={".api-mcp-test.yml": RUNNER_ENVIRON}), args=FAST),
    Case("pyproject.toml symlinked to the runner's environ", 2, "config",
         ("pyproject.toml", *OUTSIDE),
         build=_repo(links={"pyproject.toml": RUNNER_ENVIRON}), args=FAST),
    Case("FIFO in place of .env", 0, None, (), build=_fifo_env, args=FAST,
         check=_completed_with_calls),
    # As the action: the workflow grants one variable; the PR's config reaches for the runner's.
    Case("action: config reaches past allow-env", 2, "config",
         ("${GITHUB_TOKEN}", "${ACTIONS_ID_TOKEN_REQUEST_TOKEN}", "did not grant"),
         build=_repo("auth:\n  login: {operation: POST /token, json: {u: '${API_TOKEN}', "
                     "t: '${GITHUB_TOKEN}', o: '${ACTIONS_ID_TOKEN_REQUEST_TOKEN}'}}\n"),
         action=True, inputs=(("allow-env", "API_TOKEN"),)),
    Case("spec URL redirects to another origin", 3, "discovery",
         ("/moved-spec", "redirects are not followed"),
         build=_repo("spec: /moved-spec\n"), args=FAST),
]
