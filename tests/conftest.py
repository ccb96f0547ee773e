"""Shared fixtures."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Every framework the fixture apps use, installed once into one shared environment.
FIXTURE_REQUIREMENTS = (
    "fastapi",
    "uvicorn",
    "flask",
    "flask-restx",
    "django",
    "djangorestframework",
    "drf-spectacular",
    "django-ninja",
    "litestar",
    "a2wsgi",
    "python-multipart",  # OAuth2PasswordRequestForm in tests/fixtures/fastapi_env_login
    "flask-smorest",
    "apiflask",
    "connexion[flask,uvicorn]",  # Connexion 3 is ASGI, the Flask app runs inside it
    "drf-yasg",
)
# Bytecode compiled once at install: the runner starts the app's processes (probe, server) with
# PYTHONDONTWRITEBYTECODE, so without it every one of them compiled Django or FastAPI from source
# (~1 s of CPU each, hundreds of times per suite).
FIXTURE_INSTALL_OPTIONS = ("--compile-bytecode",)
FIXTURE_ENV_ROOT = Path(__file__).resolve().parent / ".fixture-env"

if str(REPO) not in sys.path:  # `runner` importable without installing the project
    sys.path.insert(0, str(REPO))

# The privilege drop is opt-in (API_MCP_TEST_SANDBOX_USER, set in the action's image): as root, a
# sandbox user cannot enter pytest's temporary folders (private to root) or a runner installed
# under /root, so the suite runs without it; tests/test_privsep.py tests the drop in folders it
# opens to every user.
os.environ.pop("API_MCP_TEST_SANDBOX_USER", None)


def _uv() -> str:
    local = Path(sys.executable).with_name("uv")
    return str(local) if local.exists() else "uv"


@pytest.fixture(scope="session")
def fixture_python() -> Path:
    return build_fixture_python()


def build_fixture_python() -> Path:
    """The interpreter of a virtualenv with the fixture apps' frameworks, reused across sessions.

    Keyed by a hash of the requirement list, the Python version and the install options, so
    changing any builds a fresh one.
    """
    recipe = (sys.version, *FIXTURE_INSTALL_OPTIONS, *FIXTURE_REQUIREMENTS)
    key = hashlib.sha256("\n".join(recipe).encode()).hexdigest()[:12]
    venv = FIXTURE_ENV_ROOT / key
    python = venv / "bin" / "python"
    marker = venv / ".complete"
    if marker.exists():
        return python
    FIXTURE_ENV_ROOT.mkdir(parents=True, exist_ok=True)
    # pytest-xdist workers start together: one builds, the others wait for it.
    with open(FIXTURE_ENV_ROOT / f"{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            _build_fixture_env(venv, python)
            marker.write_text("\n".join(FIXTURE_REQUIREMENTS))
    return python


def _build_fixture_env(venv: Path, python: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)  # half-built by an interrupted session
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    subprocess.run(
        [_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env
    )
    subprocess.run(
        [_uv(), "pip", "install", "--quiet", *FIXTURE_INSTALL_OPTIONS, "--python", str(python),
         *FIXTURE_REQUIREMENTS],
        check=True,
        env=env,
        timeout=600,
    )
