"""Inert text: what the app under test wrote, made safe to publish.

Everything the pull request controls (the API's title, paths, summaries, response bodies, error
texts, log lines, the agent's findings about them) reaches Markdown that GitHub renders, a
terminal, and a log that the Actions runner scans for workflow commands. Each sink has one
function here, and renderers pass app-derived text through it:

- `text`: one line of Markdown prose: HTML escaped, Markdown punctuation escaped (no links,
  images, emphasis or table breaks), mentions and autolinks broken by a zero-width joiner,
  control and bidi characters replaced, capped.
- `code`: an inline code span whose backtick run is longer than any run in the content.
- `fence`: a code block whose fence is longer than any backtick run in the content.
- `terminal`: escape sequences (CSI, OSC 52 clipboard, window title, ...) and control
  characters removed, for a developer's terminal.
- `no_commands` / `stop_commands`: no app-controlled line can form a workflow command.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

ZWJ = "\u200d"  # invisible; breaks `@mention`, `https://` and `www.` detection
ELLIPSIS = "…"

# Escape sequences first (ESC [ ... final, ESC ] ... BEL/ST, ESC P/X/^/_ ... ST, ESC + one char),
# then lone C0/C1 controls, DEL, and bidi overrides/isolates that reorder what is displayed.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")
_MENTION = re.compile(r"@(?=\w)")
_AUTOLINK = re.compile(r"(?i)(://|\bwww\.)")
_BACKTICKS = re.compile(r"`+")


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def clean(text: object) -> str:
    """Control characters and escape sequences out; lines kept (\\n and \\t stay). `<!--`
    gets a zero-width joiner, so no app text, even inside code, reads as an HTML comment or
    our comment's marker to anything searching the raw body."""
    value = str(text).replace("\r\n", "\n").replace("<!--", "<" + ZWJ + "!--")
    return _CONTROLS.sub("\ufffd", _ESCAPES.sub("", value))


def terminal(text: object, limit: int | None = None) -> str:
    """For a terminal or a CI log: nothing the app wrote can move the cursor, clear the screen,
    set the title or the clipboard (OSC 52), a CR cannot overwrite what we printed, and no line
    forms a workflow command."""
    value = clean(text)
    return no_commands(value if limit is None else _cap(value, limit))


def plain(value: object, limit: int | None = None) -> str:
    """Plain text for files other tools render (JUnit): clean, no mention pings when a test
    reporter turns it into Markdown, no workflow command when a step prints it."""
    return _MENTION.sub("@" + ZWJ, terminal(value, limit))


def one_line(text: object, limit: int | None = None) -> str:
    """A terminal field on one line: newlines cannot start a line of their own."""
    return terminal(" ".join(str(text).split()), limit)


def text(value: object, limit: int = 300) -> str:
    """App text as one line of inert Markdown (also safe in a table cell)."""
    line = _cap(" ".join(clean(value).split()), limit)
    line = html.escape(line, quote=False)
    line = _MARKDOWN.sub(r"\\\1", line)
    line = _MENTION.sub("@" + ZWJ, line)
    return _AUTOLINK.sub(lambda m: ZWJ + m[1] if m[1] == "://" else m[1][:3] + ZWJ + ".", line)


def _longest_run(value: str) -> int:
    return max((len(m) for m in _BACKTICKS.findall(value)), default=0)


def code(value: object, limit: int = 200) -> str:
    """App text as an inline code span (inert: no HTML, mentions or links inside code)."""
    line = _cap(" ".join(clean(value).split()), limit).replace("|", "\\|")  # a table cell
    ticks = "`" * (_longest_run(line) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") or not line.strip() else ""
    return f"{ticks}{pad}{line}{pad}{ticks}"


def fence(value: object, limit: int = 2000, info: str = "") -> str:
    """App text as a fenced code block that nothing inside can close (and whose lines form no
    workflow command when a step prints the file)."""
    body = no_commands(clean(value))
    if len(body) > limit:
        body = body[: limit - 1] + ELLIPSIS
    ticks = "`" * max(3, _longest_run(body) + 1)
    return f"{ticks}{info}\n{body}\n{ticks}"


# -- workflow commands ------------------------------------------------------------------------

_COMMAND_START = re.compile(r"^(\s*)(::|##\[)", re.MULTILINE)


def no_commands(value: str) -> str:
    """Every line that would start a workflow command (`::name ...::`, or the old `##[name]`;
    the runner trims whitespace first) gets a zero-width joiner in front, so it prints as text."""
    return _COMMAND_START.sub(lambda m: m[1] + ZWJ + m[2], value)


@contextmanager
def stop_commands(emit: object) -> Iterator[None]:
    """Around a block of untrusted lines printed in Actions: the runner ignores every command
    until the random token (which the block cannot guess) resumes them."""
    token = secrets.token_hex(16)
    emit(f"::stop-commands::{token}")  # type: ignore[operator]
    try:
        yield
    finally:
        emit(f"::{token}::")  # type: ignore[operator]
