"""Masking: every secret value the run knows is written and printed as `***`, in any encoding
an app might echo it in (JSON, HTML, URL, hex, base64 at any alignment, split across lines).

Children never get our secrets (see `sandbox.scrubbed_env`), so masking is the second line: it
covers values the user hands the app on purpose (`--app-env DB_PASSWORD=...`), tokens an app
might learn some other way, and credentials embedded in URLs (a private package index). It is
applied to the report before anything renders it (JSON, Markdown, JUnit, the PR comment, the
terminal), to every log and record the run writes (app.log, calls.jsonl, ...), and to
progress lines.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import html
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, quote_plus, urlsplit

from runner.limits import UnsafeFile, open_regular, write_replacing
from runner.sandbox import looks_secret

MASK = "***"
# Shorter values ("true", "auto", "1") would mask ordinary words all over the reports.
MIN_SECRET_LENGTH = 6
PREFILTER_SIZE = 64 * 1024  # characters from which substring searches come first
FILE_LIMIT = 32 * 1024 * 1024  # bytes of one output file that are masked (its end)


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


# Between two characters of a secret an app may put a line break (wrapped base64, a body split
# over lines), raw or JSON-escaped as it appears in report.json.
_SEPARATOR = r"(?:\r?\n|\\r)?(?:\\n)?"
MIN_FRAGMENT = 6  # shorter encoded fragments would match ordinary text


def base64_fragments(value: bytes) -> set[str]:
    """The part of `value`'s base64 (standard and URL-safe) that is the same wherever it sits in
    a longer encoded text: for each of the 3 alignments, the characters whose 6 bits come from
    `value` alone."""
    out = set()
    for offset, first in ((0, 0), (1, 2), (2, 3)):
        encoded = base64.b64encode(b"\0" * offset + value).decode()
        fragment = encoded[first:(offset + len(value)) * 8 // 6]
        if len(fragment) >= MIN_FRAGMENT:
            out |= {fragment, fragment.translate(str.maketrans("+/", "-_"))}
    return out


def encoded_forms(value: str) -> set[str]:
    """`value` as it may appear in text: raw, JSON-, HTML- and URL-escaped, hex, base64."""
    raw = value.encode()
    return {value, json.dumps(value)[1:-1], html.escape(value), quote(value, safe=""),
            quote(value), quote_plus(value), raw.hex(), raw.hex().upper(),
            *base64_fragments(raw)}


def _pattern(forms: Iterable[str], separator: str = "") -> str:
    ordered = sorted(forms, key=len, reverse=True)  # longest first: no partial masks
    return "|".join(separator.join(map(re.escape, form)) for form in ordered)


class _Masker:
    """One pattern for str or bytes: the plain forms first (fast); the split-aware pattern (4x
    slower) only when the text with its line breaks removed still holds a form."""

    def __init__(self, forms: set[str], encode: bool) -> None:
        def compiled(pattern: str) -> re.Pattern:
            return re.compile(pattern.encode() if encode else pattern)

        self.plain = compiled(_pattern(forms))
        self.split = compiled(_pattern(forms, _SEPARATOR))
        self.mask = MASK.encode() if encode else MASK
        self.breaks = [b.encode() if encode else b for b in ("\r", "\n", "\\r", "\\n")]
        self.empty = b"" if encode else ""
        literal = [f.encode() if encode else f for f in forms]
        self.literals = sorted(set(literal))
        self.joined = sorted({self._joined(f) for f in literal})

    def _joined(self, text: Any) -> Any:
        for line_break in self.breaks:
            text = text.replace(line_break, self.empty)
        return text

    def __call__(self, text: Any) -> Any:
        # On large text, substring searches first (about 8x faster than the pattern, and
        # other threads run between them): text that holds no form, whole or split, is as is.
        if len(text) > PREFILTER_SIZE and not any(form in text for form in self.literals):
            joined = self._joined(text)
            if not any(form in joined for form in self.joined):
                return text
        text = self.plain.sub(self.mask, text)
        joined = self._joined(text)
        if joined != text and self.plain.search(joined):
            text = self.split.sub(self.mask, text)
        return text


class Redactor:
    """Replaces known secret values, in any of their `encoded_forms` and split across lines,
    by `***`."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        values = {s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET_LENGTH}
        self.secrets = tuple(sorted(values, key=len, reverse=True))
        self.forms = {form for value in self.secrets for form in encoded_forms(value)}
        self._text = _Masker(self.forms, encode=False) if self.forms else None
        self._bytes = _Masker(self.forms, encode=True) if self.forms else None

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
        return self._text(text) if self._text else text

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
        """Mask a file in place; True when it was changed. The file may have been written by
        the project's code: one that is not a regular file (a FIFO, a symlink) is left alone
        without being opened, and of one over FILE_LIMIT only the end is kept (masking is
        linear, the run's time is not)."""
        if not self._bytes:
            return False
        try:
            handle = open_regular(path)
        except UnsafeFile:
            return False
        with handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - FILE_LIMIT))
            data = handle.read(FILE_LIMIT)
        masked = self._bytes(data)
        if size > FILE_LIMIT:
            note = f"(api-mcp-test: the first {size - len(data)} bytes were cut, to mask the rest)"
            masked = note.encode() + b"\n" + masked
        elif masked == data:
            return False
        write_replacing(path, masked)
        return True

    def files(self, paths: Iterable[Path], deadline: float | None = None) -> list[Path]:
        """Mask each existing file; the ones that were changed. Past `deadline` (a
        time.monotonic() value), a file not masked yet is replaced by a note: never left
        unmasked, never waited for."""
        changed = []
        for path in paths:
            if not os.path.lexists(path):
                continue
            if deadline is not None and time.monotonic() > deadline:
                with contextlib.suppress(OSError):
                    write_replacing(path, b"(api-mcp-test: removed, not masked within the run's "
                                    b"time limit)\n")
                changed.append(path)
            elif self.file(path):
                changed.append(path)
        return changed

    def announce(self, stream: TextIO | None = None) -> None:
        """In GitHub Actions, register the values with the runner (`::add-mask::`), so its own
        log masks them as well."""
        if os.environ.get("GITHUB_ACTIONS") != "true":
            return
        out = stream or sys.stdout
        for value in sorted(self.forms, key=len, reverse=True):
            if "\n" not in value and len(value) >= MIN_SECRET_LENGTH:
                out.write(f"::add-mask::{value}\n")
        out.flush()
