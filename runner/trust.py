"""The trust model: what the workflow author gives is trusted, what the repository brings is not.

Trusted: action inputs, the `env:` of the workflow step, secrets, command-line flags and the
Python API's arguments. Untrusted: everything from the repository under test (its
`.api-mcp-test.yml` / `[tool.api-mcp-test]`, `.env`, spec, code), since a pull request writes it.

So a project's config may read a runner variable as `${NAME}` only when the workflow author
granted NAME explicitly (`--allow-env NAME`, the `allow-env` input, `RunConfig.allow_env`). The
runner's own variables can never be granted: `GITHUB_*`, `ACTIONS_*`, `RUNNER_*`, `INPUT_*`, our
`API_MCP_TEST_*`, and the model provider's keys. A workflow that wants to give the app one of
those copies it into a variable of its own name first (`env: {API_TOKEN: ${{ secrets.X }}}`).
`${user.username}`, `${user.email}` and `${user.password}` (the run's throwaway user) need no
grant.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from runner.errors import UsageError

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")
USER_PREFIX = "user."
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Never grantable: the runner's and the CI's own variables.
RESERVED_PREFIXES = ("GITHUB_", "ACTIONS_", "RUNNER_", "INPUT_", "API_MCP_TEST_")
# The model providers' keys and endpoints (the LLM agent's, never the app's).
MODEL_PREFIXES = ("ANTHROPIC_", "CLAUDE_", "OPENAI_", "AZURE_OPENAI_", "GEMINI_", "GOOGLE_API_",
                  "MISTRAL_", "GROQ_", "COHERE_", "DEEPSEEK_", "OPENROUTER_", "XAI_",
                  "AWS_BEDROCK_")
RESERVED_NAMES = ("GITHUB_TOKEN", "GH_TOKEN", "CI_JOB_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
GRANT_HINT = ("Grant it in the workflow: the action input `allow-env: NAME`, the command-line "
              "flag `--allow-env NAME`, or `allow_env=(\"NAME\",)` in the Python API.")


def reserved(name: str) -> str | None:
    """Why `name` can never be granted to the project's config (None when it can be)."""
    upper = name.upper()
    if upper in RESERVED_NAMES or upper.startswith(RESERVED_PREFIXES):
        return "it belongs to the runner and the CI"
    if upper.startswith(MODEL_PREFIXES):
        return "it is the LLM agent's model setting"
    return None


def clean_grants(names: Iterable[str], source: str = "--allow-env") -> tuple[str, ...]:
    """The granted variable names, checked: valid names, none of the runner's own."""
    cleaned: list[str] = []
    for raw in names:
        for name in re.split(r"[\s,]+", raw.strip()):
            if not name:
                continue
            if not _NAME.fullmatch(name):
                raise UsageError(f"{source} {name!r} is not a variable name.",
                                 "Give names such as API_TOKEN (letters, digits, _).")
            why = reserved(name)
            if why:
                raise UsageError(
                    f"{source} {name} cannot be granted to the project's config: {why}.",
                    "Copy the value into a variable of its own name in the workflow step "
                    "(env: {API_TOKEN: ${{ secrets.API_TOKEN }}}) and grant that name.")
            if name not in cleaned:
                cleaned.append(name)
    return tuple(cleaned)


def references(texts: Iterable[str | None]) -> list[str]:
    """The runner variables `texts` name as ${NAME} (not the ${user.*} placeholders), sorted."""
    return sorted({name for text in texts if text for name in REFERENCE.findall(text)
                   if not name.startswith(USER_PREFIX)})


def resolve(names: Iterable[str], granted: Iterable[str], where: str,
            environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values of the variables `where` references; UsageError (exit 2) for one not granted
    (naming it and how to grant it) or granted but unset."""
    environ = os.environ if environ is None else environ
    allowed = set(granted)
    wanted = sorted(set(names))
    refused = [n for n in wanted if n not in allowed or reserved(n)]
    if refused:
        never = [n for n in refused if reserved(n)]
        listed = ", ".join(f"${{{n}}}" for n in refused)
        message = (f"{where} references {listed}, which the workflow did not grant: the "
                   "repository under test may only read the variables the workflow author "
                   "allows.")
        if never:
            message += (f" {', '.join(never)} can never be granted ({reserved(never[0])}); copy "
                        "the value into a variable of its own name and grant that.")
        raise UsageError(message, GRANT_HINT)
    missing = [n for n in wanted if n not in environ]
    if missing:
        raise UsageError(f"{where} uses the environment variable(s) {', '.join(missing)}, "
                         "which are granted but not set.",
                         "Export them before the run (in Actions: env: NAME: "
                         "${{ secrets.NAME }}).")
    return {n: environ[n] for n in wanted}


def granted_values(granted: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of the granted variables that are set (all masked in the run's outputs)."""
    environ = os.environ if environ is None else environ
    return [environ[n] for n in granted if environ.get(n)]
