"""Fast tests of what the app's environment is installed from (runner/dependencies.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.config import clean_install
from runner.config.schema import problems
from runner.dependencies import (
    IMPORTS_SOURCE,
    install_plan,
    lock_pins,
    portable_requirements,
    requirements_from_imports,
)
from runner.pythons import requested_python

POETRY_PYPROJECT = """[tool.poetry]
name = "svc"
version = "0.1.0"
[tool.poetry.dependencies]
python = "^3.8"
uvicorn = "^0.11"
passlib = {extras = ["bcrypt"], version = "^1.7"}
"""
POETRY_LOCK = """[[package]]
name = "uvicorn"
version = "0.11.8"
category = "main"

[[package]]
name = "bcrypt"
version = "3.2.2"

[[package]]
name = "mylib"
version = "0.1.0"
[package.source]
type = "git"
url = "https://example.invalid/mylib.git"
"""


def files(root: Path, contents: dict[str, str]) -> Path:
    for name, text in contents.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_poetry_lock_pins_the_declared_install(tmp_path: Path) -> None:
    files(tmp_path, {"pyproject.toml": POETRY_PYPROJECT, "poetry.lock": POETRY_LOCK})
    plan = install_plan(tmp_path)
    assert plan is not None and plan.source == "pyproject.toml (Poetry)"
    assert plan.lock == "poetry.lock"
    # Registry packages only: a git source is named by the declaration itself.
    assert plan.constraints == ("uvicorn==0.11.8", "bcrypt==3.2.2")


def test_pdm_lock_pins_a_requirements_file_too(tmp_path: Path) -> None:
    files(tmp_path, {"requirements.txt": "flask\n",
                     "pdm.lock": '[[package]]\nname = "flask"\nversion = "2.0.3"\n'})
    assert lock_pins(tmp_path) == ("pdm.lock", ("flask==2.0.3",))
    plan = install_plan(tmp_path)
    assert plan is not None and plan.constraints == ("flask==2.0.3",)


def test_requirements_derived_from_imports_when_nothing_is_declared(tmp_path: Path) -> None:
    """Tutorial code: imports and INSTALLED_APPS strings, mapped to PyPI names; the project's
    own modules and the standard library left out."""
    files(tmp_path, {
        "manage.py": "import os\nimport sys\nfrom django.core.management import execute_from_command_line\n",
        "mysite/__init__.py": "",
        "mysite/settings.py": "INSTALLED_APPS = ['django.contrib.admin', 'rest_framework', "
                              "'corsheaders', 'polls']\n",
        "polls/__init__.py": "",
        "polls/views.py": "import yaml\nfrom rest_framework import viewsets\nfrom polls.models "
                          "import Question\nfrom . import serializers\nimport jwt.exceptions\n",
        "tools/build.py": "from setuptools import setup\n",
    })
    assert requirements_from_imports(tmp_path) == (
        "django", "djangorestframework", "django-cors-headers", "PyYAML", "PyJWT")
    plan = install_plan(tmp_path)
    assert plan is not None and plan.source == IMPORTS_SOURCE


def test_windows_only_packages_are_left_out(tmp_path: Path) -> None:
    path = files(tmp_path, {"requirements.txt": "flask==3.0\npywin32==308\nWMI>=1.5 ; "
                                                "python_version>'3'\nrequests\n"})
    assert portable_requirements(path / "requirements.txt") == "flask==3.0\nrequests\n"
    assert portable_requirements(files(tmp_path, {"r2.txt": "flask\n"}) / "r2.txt") is None
    windows = tmp_path / "frozen.txt"  # pip freeze in PowerShell: UTF-16 with a BOM, CRLF
    windows.write_bytes("flask==3.0\r\npywin32==308\r\n".encode("utf-16"))
    assert portable_requirements(windows) == "flask==3.0\n"


def test_config_install_extra_and_command(tmp_path: Path) -> None:
    assert clean_install({"extra": ["bcrypt<4", "email-validator"]}, tmp_path) == {
        "install": True, "install_extra": ("bcrypt<4", "email-validator")}
    assert clean_install({"command": "pip install -e ."}, tmp_path) == {
        "install": True, "install_command": "pip install -e ."}
    assert "(unknown: pins)" in problems({"install": {"pins": ["x"]}})["install"]


def test_dockerfile_base_image_is_a_python_hint(tmp_path: Path) -> None:
    files(tmp_path, {"Dockerfile": "FROM python:3.8-slim AS base\nCMD uvicorn app:app\n"})
    request = requested_python(tmp_path)
    assert request is not None
    assert (request.request, request.hint) == ("3.8", True)
    files(tmp_path, {"Dockerfile": "FROM tiangolo/uvicorn-gunicorn-fastapi:python3.9-slim\n"})
    assert requested_python(tmp_path).request == "3.9"  # type: ignore[union-attr]
    files(tmp_path, {".python-version": "3.12\n"})
    assert requested_python(tmp_path).hint is False  # type: ignore[union-attr]


def test_a_source_build_failure_suggests_the_python_of_its_time(tmp_path: Path) -> None:
    from runner import installer, sandbox
    from runner.errors import RunnerError

    cmd = ["/bin/sh", "-c", "echo 'error: Failed to build `psycopg2==2.8.4`' >&2; exit 1"]
    with pytest.raises(RunnerError) as caught:
        installer.install_step(cmd, tmp_path, sandbox.installer_env({}), 30,
                               tmp_path / "install.log", "installing")
    assert 'Set `python: "3.8"`' in caught.value.hint
    assert "psycopg2==2.8.4" in caught.value.message


def test_unbounded_requirements_are_named_and_locked_plans_have_none(tmp_path: Path) -> None:
    from runner.dependencies import unbounded_names

    (tmp_path / "requirements.txt").write_text(
        "Flask\nuvicorn >= 0.15  # any newer\nrequests==2.31.0\npydantic<2\nattrs~=23.1\n"
        "-r other.txt\ngit+https://example.com/x.git\nmylib @ https://example.com/mylib.whl\n")
    plan = install_plan(tmp_path)
    assert plan is not None
    assert unbounded_names(plan, tmp_path) == ("flask", "uvicorn")
    (tmp_path / "poetry.lock").write_text('[[package]]\nname = "flask"\nversion = "2.0.1"\n')
    assert unbounded_names(install_plan(tmp_path), tmp_path) == ()  # the lock decides


def test_uv_is_found_while_sysconfig_is_half_initialised(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.11's sysconfig, first read by two threads at once, can answer None for `EXE`
    (uv's own lookup then raises TypeError): the runner still finds uv."""
    import sysconfig

    from runner.dependencies import uv_binary

    real = sysconfig.get_config_var
    monkeypatch.setattr(sysconfig, "get_config_var",
                        lambda name: None if name == "EXE" else real(name))
    found = uv_binary()
    assert found is not None and Path(found).name == "uv"
