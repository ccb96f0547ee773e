"""The published JSON Schema of `.api-mcp-test.yml` and the config loader agree: every key the
README documents is in the schema and converted by the loader, a full config is valid, an
unknown key at any level is refused with a message naming it, and the README's examples validate.
Env files are read by python-dotenv's parser, without interpolation, never quoted in errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from runner.config import apply_project_config, read_env_file
from runner.config.files import parse_env_file
from runner.config.keys import CONVERTERS
from runner.config.schema import SCHEMA_FILE, problems, schema
from runner.errors import UsageError
from runner.models import RunConfig

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Configuration file", 1)[1].split("\n## ", 1)[0]
FULL = {
    "working-directory": "services/api", "app": "main:app", "python": "3.12",
    "install": {"extra": ["bcrypt<4"], "command": "pip install -e ."},
    "env": {"DEBUG": "true", "WORKERS": 2}, "env-files": [".env.test"],
    "setup": ["python manage.py migrate --noinput"], "start": "gunicorn main:app",
    "ready": {"path": "/health", "timeout": 45}, "spec": "docs/openapi.yaml",
    "include": ["/api/*"], "exclude": ["GET /api/admin/*", "tag:internal"],
    "auth": {"header": "Authorization", "register": {"operation": "POST /r", "json": {"a": 1}},
             "login": {"operation": "POST /token", "form": {"username": "u"}},
             "token": "$.access_token", "scheme": "Bearer"},
    "scenarios": "scenarios.yml", "budget": {"calls": 50, "minutes": 5, "tokens": 9,
                                             "cost-usd": 0.5},
    "django": {"debug": True},
}


def test_the_schema_is_a_valid_draft7_schema_with_a_message_and_a_description_per_key() -> None:
    Draft7Validator.check_schema(schema())
    for key, node in schema()["properties"].items():
        assert node.get("description") and node.get("errorMessage"), key


def test_documented_keys_schema_keys_and_converters_are_the_same() -> None:
    documented = re.findall(r"^\| `([\w-]+)`(?: / `([\w-]+)`)? \|", SECTION, re.MULTILINE)
    keys = [k for pair in documented for k in pair if k]
    assert keys == list(schema()["properties"]) == list(CONVERTERS)


def test_a_config_with_every_key_is_valid() -> None:
    assert set(FULL) == set(schema()["properties"])
    assert problems(FULL) == {}
    assert list(Draft7Validator(schema()).iter_errors(FULL)) == []


@pytest.mark.parametrize(("config", "key", "expected"), [
    ({"colour": "red"}, "colour", "Unknown key `colour`; allowed keys: working-directory, app"),
    ({"install": {"pins": ["x"]}}, "install", "`install` must be a command"),
    ({"ready": {"path": "/", "when": 1}}, "ready", "(unknown: when)"),
    ({"auth": {"value": "x", "cookie": "y"}}, "auth", "(unknown: cookie)"),
    ({"auth": {"login": {"operation": "POST /t", "query": {}}}}, "auth",
     "`auth.login` must be a mapping with `operation`"),
    ({"auth": {"basic": {"username": "a", "password": "b", "realm": "c"}}}, "auth",
     "`auth.basic` must be {username, password}"),
    ({"budget": {"calls": 3, "hours": 1}}, "budget", "(unknown: hours)"),
    ({"django": {"debug": True, "hosts": []}}, "django", "(unknown: hosts)"),
])
def test_unknown_keys_are_refused_at_every_level(config: dict, key: str, expected: str) -> None:
    assert expected in problems(config)[key]


def test_a_private_value_is_never_quoted(tmp_path: Path) -> None:
    found = problems({"auth": {"basic": {"username": "a", "password": 12345678}},
                      "env": {"TOKEN": ["s3cr3t-value"]}})
    assert found["auth"].endswith("not a number.") and "12345678" not in found["auth"]
    assert "s3cr3t" not in found["env"]


def test_the_readme_examples_are_valid() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", SECTION, re.DOTALL)
    assert len(blocks) >= 3
    for block in blocks:
        assert problems(yaml.safe_load(block)) == {}, block


def test_every_fixture_config_is_valid() -> None:
    paths = sorted((REPO / "tests" / "fixtures").glob("*/.api-mcp-test.y*ml"))
    assert len(paths) >= 5
    for path in paths:
        assert problems(yaml.safe_load(path.read_text(encoding="utf-8")) or {}) == {}, path


def test_the_readme_points_editors_at_the_schema() -> None:
    assert "# yaml-language-server: $schema=" in README
    url = re.search(r"yaml-language-server: \$schema=(\S+)", README)
    assert url and url.group(1).endswith(f"runner/config/{SCHEMA_FILE}")
    assert url.group(1) == schema()["$id"]
    assert (REPO / "runner" / "config" / SCHEMA_FILE).is_file()


def test_init_writes_the_schema_comment_and_a_valid_file() -> None:
    from runner.discovery.guide import Learned, config_text

    text = config_text(Learned(shown="api", working_directory="services/api",
                               env={"SECRET_KEY": "placeholder"}, extra=["bcrypt"]))
    assert text.splitlines()[0] == f"# yaml-language-server: $schema={schema()['$id']}"
    assert problems(yaml.safe_load(text)) == {}


def test_the_loader_refuses_what_the_schema_refuses(tmp_path: Path) -> None:
    (tmp_path / ".api-mcp-test.yml").write_text(json.dumps({"budget": {"calls": 0}}))
    with pytest.raises(UsageError) as caught:
        apply_project_config(RunConfig(repo_path=tmp_path))
    assert caught.value.message == (
        ".api-mcp-test.yml: `budget.calls` must be a whole number >= 1, not 0.")
    assert caught.value.exit_code == 2


# -- env files ---------------------------------------------------------------------------------


def test_env_files_as_python_dotenv_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMT_RUNNER_SECRET", "leak")
    text = ('A="line one\\nline two"\nB=\'single ${AMT_RUNNER_SECRET}\'\n'
            'C="${AMT_RUNNER_SECRET}"\n\n\nexport D = spaced  \nE=\nF="multi\nline"\n')
    assert parse_env_file(text, ".env") == {
        "A": "line one\nline two", "B": "single ${AMT_RUNNER_SECRET}",
        "C": "${AMT_RUNNER_SECRET}",  # never the runner's own environment
        "D": "spaced", "E": "", "F": "multi\nline"}


@pytest.mark.parametrize(("text", "line"), [
    ("A=1\nthe-secret-is hunter2\n", 2),
    ("A=1\n\n\nhunter2 is the secret\n", 4),
    ("A=1\nHUNTER2\n", 2),  # a name alone would mean "take it from the host"
])
def test_a_bad_env_line_is_named_by_number_and_never_quoted(tmp_path: Path, text: str,
                                                            line: int) -> None:
    (tmp_path / ".env").write_text(text)
    with pytest.raises(UsageError) as caught:
        read_env_file(tmp_path / ".env")
    assert caught.value.message == f".env line {line} is not NAME=VALUE."
    assert "hunter2" not in str(caught.value).lower() + (caught.value.hint or "").lower()


def test_an_env_file_that_links_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "outside.env").write_text("SECRET=hunter2\n")
    (repo / ".env").symlink_to(tmp_path / "outside.env")
    with pytest.raises(UsageError) as caught:
        read_env_file(repo / ".env", repo)
    assert "hunter2" not in caught.value.message
