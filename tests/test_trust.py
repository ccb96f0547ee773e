"""The trust model (runner/trust.py): the project's config reads only granted variables.

Fast tests of the expansion rules through the config loader, the CLI flag and the action input;
one CLI run shows a refused reference exits 2 before anything of the project runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import trust
from runner.config import apply_project_config
from runner.context import from_env
from runner.errors import UsageError
from runner.models import RunConfig
from tests.helpers import run_cli

RUNNER_SECRETS = {
    "GITHUB_TOKEN": "ghs_runnertoken1234567890",
    "ACTIONS_RUNTIME_TOKEN": "actions-runtime-abcdef",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-request-abcdef",
    "RUNNER_TEMP": "/home/runner/work/_temp",
    "INPUT_GITHUB_TOKEN": "ghs_inputtoken1234567890",
    "ANTHROPIC_API_KEY": "sk-ant-model-key-123456",
    "OPENAI_API_KEY": "sk-openai-model-key-123456",
    "DEPLOY_TOKEN": "deploy-secret-abcdef",
    "DATABASE_PASSWORD": "db-password-abcdef",
    "HOME_REGION": "eu-west-1",
}


def project(tmp_path: Path, auth: str) -> Path:
    root = tmp_path / "proj"
    root.mkdir(exist_ok=True)
    (root / ".api-mcp-test.yml").write_text(f"auth: {auth}\n")
    return root


def apply(root: Path, allow: tuple[str, ...] = ()) -> RunConfig:
    return apply_project_config(RunConfig(repo_path=root, allow_env=allow))


@pytest.mark.parametrize("name", sorted(RUNNER_SECRETS))
def test_no_runner_variable_expands_without_a_grant(tmp_path: Path, name: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in RUNNER_SECRETS.items():
        monkeypatch.setenv(key, value)
    root = project(tmp_path, f"{{value: 'Bearer ${{{name}}}'}}")
    with pytest.raises(UsageError) as caught:
        apply(root, allow=("SOMETHING_ELSE",))
    text = caught.value.user_message()
    assert caught.value.exit_code == 2
    assert f"${{{name}}}" in text and "did not grant" in text
    assert "--allow-env NAME" in text and "allow-env: NAME" in text
    assert RUNNER_SECRETS[name] not in text


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "RUNNER_TEMP",
                                  "INPUT_GITHUB-TOKEN", "INPUT_SUITE", "ANTHROPIC_API_KEY",
                                  "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "GH_TOKEN",
                                  "API_MCP_TEST_SANDBOX_USER", "github_token"])
def test_the_runners_own_variables_can_never_be_granted(name: str) -> None:
    assert trust.reserved(name)
    with pytest.raises(UsageError, match="cannot be granted|is not a variable name"):
        trust.clean_grants([name])


def test_a_reserved_reference_is_refused_even_when_the_grant_list_is_bypassed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python API could put a reserved name in RunConfig.allow_env unchecked."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_runnertoken1234567890")
    root = project(tmp_path, "{value: 'token ${GITHUB_TOKEN}'}")
    with pytest.raises(UsageError, match="can never be granted"):
        apply(root, allow=("GITHUB_TOKEN",))


def test_a_granted_variable_expands_at_login_only(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKEN", "granted-value-123")
    monkeypatch.setenv("DEPLOY_TOKEN", "deploy-secret-abcdef")
    root = project(tmp_path, "{value: 'Bearer ${API_TOKEN}'}")
    config = apply(root, allow=("API_TOKEN",))
    assert config.auth is not None
    assert config.auth.value == "Bearer ${API_TOKEN}"
    assert dict(config.auth.env) == {"API_TOKEN": "granted-value-123"}
    assert "granted-value-123" not in repr(config)


def test_a_name_that_is_no_reference_stays_literal(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_GITHUB-TOKEN", "ghs_inputtoken1234567890")
    config = apply(project(tmp_path, "{value: 'Bearer ${INPUT_GITHUB-TOKEN}'}"))
    assert config.auth is not None and config.auth.env == {}


def test_user_placeholders_need_no_grant(tmp_path: Path) -> None:
    root = project(tmp_path, "{login: {operation: POST /token, json: {username: '${user.username}'"
                             ", password: '${user.password}'}}}")
    config = apply(root)
    assert config.auth is not None and config.auth.env == {}


def test_granted_but_unset_names_the_variable(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMT_NOT_SET", raising=False)
    root = project(tmp_path, "{basic: {username: me, password: '${AMT_NOT_SET}'}}")
    with pytest.raises(UsageError, match="AMT_NOT_SET, which are granted but not set"):
        apply(root, allow=("AMT_NOT_SET",))


def test_refusal_names_every_variable_and_the_config_file(tmp_path: Path) -> None:
    root = project(tmp_path, "{login: {operation: POST /token, json: {a: '${AMT_B}', "
                             "b: '${GITHUB_TOKEN}', c: '${user.email}'}}}")
    with pytest.raises(UsageError) as caught:
        apply(root)
    message = caught.value.message
    assert message.startswith("`auth` in .api-mcp-test.yml references ${AMT_B}, ${GITHUB_TOKEN}")
    assert "GITHUB_TOKEN can never be granted" in message and "user.email" not in message


def test_grants_from_flags_and_inputs_are_checked() -> None:
    assert trust.clean_grants(["API_TOKEN", "A_B, C_D\nE_F", "API_TOKEN"]) == (
        "API_TOKEN", "A_B", "C_D", "E_F")
    with pytest.raises(UsageError, match="'1BAD' is not a variable name"):
        trust.clean_grants(["1BAD"])


def test_action_input_allow_env(tmp_path: Path) -> None:
    base = {"GITHUB_WORKSPACE": str(tmp_path)}
    ctx = from_env({**base, "INPUT_ALLOW-ENV": "API_TOKEN\nAPI_PASSWORD\n"})
    assert ctx.run.allow_env == ("API_TOKEN", "API_PASSWORD")
    with pytest.raises(UsageError, match="Input 'allow-env': GITHUB_TOKEN cannot be granted"):
        from_env({**base, "INPUT_ALLOW-ENV": "GITHUB_TOKEN"})


def test_cli_refuses_an_ungranted_reference_before_running_anything(tmp_path: Path) -> None:
    root = project(tmp_path, "{value: 'Bearer ${DEPLOY_TOKEN}'}")
    (root / "main.py").write_text("raise SystemExit('the project ran')\n")
    proc = run_cli("test", str(root), "--no-install", "--output-dir", str(tmp_path / "out"),
                   timeout=120, env={"DEPLOY_TOKEN": "deploy-secret-abcdef"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "${DEPLOY_TOKEN}, which the workflow did not grant" in proc.stderr
    assert "--allow-env NAME" in proc.stderr
    assert "deploy-secret-abcdef" not in proc.stdout + proc.stderr
    assert "the project ran" not in proc.stdout + proc.stderr
    proc = run_cli("test", "--allow-env", "GITHUB_TOKEN", str(root), timeout=60)
    assert proc.returncode == 2 and "cannot be granted" in proc.stderr


def test_the_base_run_gets_the_same_grants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runner import baseline

    monkeypatch.setenv("API_TOKEN", "granted-value-123")
    monkeypatch.setenv("OTHER_TOKEN", "not-granted-123")
    config = RunConfig(repo_path=tmp_path, allow_env=("API_TOKEN",))
    command = baseline.base_command(tmp_path, tmp_path / "out", config)
    assert command[command.index("--allow-env") + 1] == "API_TOKEN"
    env = baseline.base_env(config.allow_env)
    assert env["API_TOKEN"] == "granted-value-123" and "OTHER_TOKEN" not in env
