"""Masking: every secret value the run knows is written and printed as `***`.

Children never get our secrets (see `procs.scrubbed_env`), so masking is the second line: it
covers values the user hands the app on purpose (`--app-env DB_PASSWORD=...`), tokens an app
might learn some other way, and credentials embedded in URLs (a private package index). It is
applied to the report before anything renders it (JSON, Markdown, JUnit, the PR comment, the
terminal), to every log and record the run writes (app.log, calls.jsonl, ...), and to
progress lines.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

from runner.procs import looks_secret

MASK = "***"
# Shorter values ("true", "auto", "1") would mask ordinary words all over the reports.
MIN_SECRET_LENGTH = 6


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """Values of variables whose names look secret (tokens, keys, passwords, INPUT_GITHUB-TOKEN,
    AWS_SECRET_ACCESS_KEY, ...), and passwords embedded in URL-valued variables."""
    from runner.repo import git_config_secrets

    found = git_config_secrets(environ)
    for name, value in environ.items():
        if name.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")):
            continue  # git config names and values: only headers are secret (see above)
        if looks_secret(name):
            found.append(value)
        elif "://" in value:
            try:
                password = urlsplit(value.strip()).password
            except ValueError:
                password = None
            if password:
                found.append(password)
    return found


class Redactor:
    """Replaces known secret values (and their JSON-, XML- and URL-escaped forms) by `***`."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        values = {s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET_LENGTH}
        self.secrets = tuple(sorted(values, key=len, reverse=True))
        forms: set[str] = set()
        for value in self.secrets:
            forms |= {value, json.dumps(value)[1:-1], html.escape(value), quote(value, safe="")}
        ordered = sorted(forms, key=len, reverse=True)  # longest first: no partial masks
        self._text = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._bytes = (re.compile(b"|".join(re.escape(f.encode()) for f in ordered))
                       if ordered else None)

    @classmethod
    def for_run(cls, extra: Iterable[str | None] = (),
                app_env: Mapping[str, str] | None = None) -> Redactor:
        """Secrets from our environment, the given ones (API key, token) and the app settings
        whose names look secret."""
        from_app = [v for k, v in (app_env or {}).items() if looks_secret(k)]
        return cls([*environment_secrets(os.environ), *extra, *from_app])

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def __call__(self, text: str) -> str:
        return self._text.sub(MASK, text) if self._text else text

    def value(self, value: Any) -> Any:
        """`value` with every string inside it masked; dataclass records are masked in place."""
        if not self._text:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.value(v) for v in value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                # object.__setattr__: frozen records (Endpoint, ApiSpec) are masked too.
                object.__setattr__(value, field.name, self.value(getattr(value, field.name)))
        return value

    def file(self, path: Path) -> bool:
        """Mask a file in place; True when it contained a secret."""
        if not self._bytes:
            return False
        data = path.read_bytes()
        masked = self._bytes.sub(MASK.encode(), data)
        if masked == data:
            return False
        path.write_bytes(masked)
        return True

    def files(self, paths: Iterable[Path]) -> list[Path]:
        """Mask each existing file; the ones that contained a secret."""
        return [p for p in paths if p.is_file() and self.file(p)]

    def announce(self, stream: TextIO | None = None) -> None:
        """In GitHub Actions, register the values with the runner (`::add-mask::`), so its own
        log masks them as well."""
        if os.environ.get("GITHUB_ACTIONS") != "true":
            return
        out = stream or sys.stdout
        for value in self.secrets:
            if "\n" not in value:
                out.write(f"::add-mask::{value}\n")
        out.flush()
