"""The redactor masks a known secret in every encoding an app could echo it in."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from runner.redact import MASK, Redactor, base64_fragments

SECRET = "ghs_s3cr3t+T0ken/Value=1234567890"
redact = Redactor([SECRET])


def _encodings(secret: str) -> dict[str, str]:
    raw = secret.encode()
    forms = {
        "raw": secret, "json": json.dumps(secret), "url": quote(secret, safe=""),
        "url-path": quote(secret), "url-plus": quote_plus(secret), "hex": raw.hex(),
        "HEX": raw.hex().upper(), "split": secret[:9] + "\n" + secret[9:],
        "split-crlf-json": json.dumps(secret[:5] + "\r\n" + secret[5:]),
        "mime-wrapped": base64.encodebytes(b"x" * 55 + raw).decode(),
    }
    for prefix in (b"", b"a", b"ab", b"abc", b"Authorization: Basic "):
        for name, encode in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
            forms[f"{name}+{len(prefix)}"] = encode(prefix + raw + b"!tail").decode()
    return forms


@pytest.mark.parametrize(("name", "text"), _encodings(SECRET).items())
def test_every_encoding_is_masked(name: str, text: str) -> None:
    masked = redact(f"before {text} after")
    assert MASK in masked, name
    assert SECRET not in masked and SECRET.encode().hex() not in masked.lower()
    for fragment in base64_fragments(SECRET.encode()):
        assert fragment not in masked.replace("\n", "")


def test_a_masked_base64_neighbourhood_cannot_be_decoded_back() -> None:
    for prefix in (b"", b"a", b"ab"):
        masked = redact(base64.b64encode(prefix + SECRET.encode()).decode())
        left = masked.split(MASK)[0]
        try:
            assert SECRET.encode() not in base64.b64decode(left + "=" * (-len(left) % 4))
        except binascii.Error:
            pass


def test_ordinary_text_is_left_alone() -> None:
    text = "GET /items/1 -> 200 {\"id\": 1, \"name\": \"widget\"}\n" * 50
    assert redact(text) == text


def test_files_are_masked_in_every_encoding(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"\xff binary\n" + "\n".join(_encodings(SECRET).values()).encode())
    assert redact.files([log]) == [log]
    data = log.read_bytes()
    assert SECRET.encode() not in data and SECRET.encode().hex().encode() not in data
    assert not any(f.encode() in data.replace(b"\n", b"")
                   for f in base64_fragments(SECRET.encode()))


def test_announce_registers_the_encoded_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    out = io.StringIO()
    redact.announce(out)
    masks = out.getvalue().splitlines()
    assert f"::add-mask::{SECRET}" in masks
    assert f"::add-mask::{SECRET.encode().hex()}" in masks
    assert any(m.removeprefix("::add-mask::") in base64_fragments(SECRET.encode()) for m in masks)


def test_masking_files_never_opens_a_fifo_or_writes_through_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output folder's logs may have been swapped by the project's code (the app runs as the
    same user without a sandbox): masking must neither block nor write elsewhere."""
    import os

    from runner import redact

    secret = "s3cr3t-value-for-files"
    outside = tmp_path / "elsewhere.txt"
    outside.write_text(f"not ours: {secret}")
    os.mkfifo(tmp_path / "calls.jsonl")
    (tmp_path / "app.log").symlink_to(outside)
    (tmp_path / "mcp.log").write_text(f"token {secret}\n")
    monkeypatch.setattr(redact, "FILE_LIMIT", 100)
    (tmp_path / "openapi.json").write_text(secret + "x" * 200 + secret)
    names = ("calls.jsonl", "app.log", "mcp.log", "openapi.json", "missing.log")
    changed = Redactor([secret]).files([tmp_path / name for name in names])
    assert [p.name for p in changed] == ["mcp.log", "openapi.json"]
    assert (tmp_path / "mcp.log").read_text() == f"token {MASK}\n"
    # Over the limit: only its end is kept, masked.
    kept = (tmp_path / "openapi.json").read_text()
    assert kept.startswith("(api-mcp-test: the first 144 bytes were cut") and kept.endswith(MASK)
    assert secret not in kept
    assert outside.read_text() == f"not ours: {secret}" and (tmp_path / "app.log").is_symlink()


def test_files_not_masked_in_time_are_removed(tmp_path: Path) -> None:
    secret = "s3cr3t-value-for-files"
    for name in ("a.log", "b.log"):
        (tmp_path / name).write_text(f"{secret}\n")
    changed = Redactor([secret]).files([tmp_path / "a.log", tmp_path / "b.log"], deadline=0.0)
    assert len(changed) == 2
    for name in ("a.log", "b.log"):
        assert "not masked within the run's time limit" in (tmp_path / name).read_text()


def test_text_without_any_form_is_returned_as_is_and_split_forms_are_still_found() -> None:
    secret = "s3cr3t-value-for-files"
    redactor = Redactor([secret])
    text = "nothing to see\n" * 10_000
    assert redactor(text) is text
    wrapped = f"a {secret[:9]}\n{secret[9:]} b"
    assert secret[:9] not in redactor(wrapped) and MASK in redactor(wrapped)
