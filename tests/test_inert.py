"""Inert rendering of app-derived text: Markdown (comment, job summary, report.md), JUnit, the
terminal and workflow commands, down to golden files of what users see for a hostile app."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hostile_publish import (
    FAKE_HEADLINE,
    HOSTILE,
    MARKER,
    OTHER_MARKER,
    crashed_report,
    hostile_report,
)
from markdown_it import MarkdownIt

from runner.models import Endpoint, EndpointResult, RunReport
from runner.publish import github
from runner.report import inert, junit, markdown

GOLDEN = Path(__file__).parent / "golden"


def html_of(text: str) -> str:
    """Markdown as GitHub would turn it into HTML (raw HTML allowed, tables on)."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough") \
        .render(text)


def outside_code(html: str) -> str:
    return re.sub(r"<(pre|code)>.*?</\1>", "", html, flags=re.DOTALL)


# -- the pieces -------------------------------------------------------------------------------


def test_text_renders_as_the_text_it_is() -> None:
    line = inert.text(HOSTILE, 2000)
    assert "\n" not in line
    rendered = outside_code(html_of(f"| a |\n|---|\n| {line} |"))
    assert rendered.count("<td>") == 1  # one cell: `|` cannot split it
    for forbidden in ("<img", "<a ", "<!--", "</details>", "<strong>", "<s>", "<h2",
                      "@octocat", "@octo-org", "https://", "www.evil"):
        assert forbidden not in rendered, forbidden
    assert "&lt;img src=https" in rendered  # shown, not obeyed
    assert "\x1b" not in line and "\u202e" not in line and "\r" not in line


def test_text_is_capped() -> None:
    assert inert.text("x" * 500, 100) == "x" * 99 + "…"
    assert len(inert.code("y" * 500, 50)) <= 52


@pytest.mark.parametrize("content", ["plain", "a `tick`", "``double`` and ```", "`edge`", "|"])
def test_a_code_span_holds_any_backtick_run(content: str) -> None:
    rendered = html_of(inert.code(content))
    assert rendered.count("<code>") == 1
    code = re.search(r"<code>(.*)</code>", rendered)[1]
    assert code.replace("&quot;", '"').strip() == content.replace("|", "\\|").strip() or \
        content == "|"


def test_a_fence_cannot_be_closed_by_its_content() -> None:
    body = "before\n```\n````\n</details>\nafter"
    rendered = html_of(inert.fence(body) + "\n\nnext paragraph")
    assert rendered.count("<pre>") == 1 and "after" in re.search("<pre>(.*)</pre>", rendered,
                                                                  re.DOTALL)[1]
    assert "<p>next paragraph</p>" in rendered
    assert inert.fence("x" * 50, 10).count("x") == 9


def test_terminal_strips_escape_sequences_and_controls() -> None:
    shown = inert.terminal(HOSTILE)
    for sequence in ("\x1b", "\x07", "\x9b", "\r", "\u202e", "ZXZpbCBjbGlwYm9hcmQ=", "pwned"):
        assert sequence not in shown, repr(sequence)
    assert "red" in shown and "FAIL" in shown and "txt.exe" in shown
    assert "\n" in shown and "\n" not in inert.one_line(HOSTILE)


def test_no_app_line_forms_a_workflow_command() -> None:
    shown = inert.terminal(HOSTILE)
    for line in shown.splitlines():
        assert not line.strip().startswith(("::", "##[")), line
    assert inert.no_commands("fine :: in the middle") == "fine :: in the middle"


def test_stop_commands_brackets_a_block_with_an_unguessable_token() -> None:
    lines: list[str] = []
    with inert.stop_commands(lines.append):
        lines.append("::error::from the app")
    with inert.stop_commands(lines.append):
        pass
    start = re.fullmatch(r"::stop-commands::([0-9a-f]{32})", lines[0])
    assert start and lines[2] == f"::{start[1]}::"
    assert lines[3] != lines[0]  # a new token every time


# -- whole reports ----------------------------------------------------------------------------


@pytest.mark.parametrize("report", [hostile_report(), crashed_report()],
                         ids=["completed", "crashed"])
def test_a_hostile_report_renders_inert(report: RunReport) -> None:
    text = markdown.render(report, footer="Our footer.")
    rendered = html_of(text)
    outside = outside_code(rendered)
    for forbidden in ("<img", "<a ", "<!--", "@octocat", "@octo-org", "https://", "www.evil"):
        assert forbidden not in outside, forbidden
    ours = len(re.findall(r"^<details>", text, re.MULTILINE))
    assert outside.count("<details>") == ours and outside.count("</details>") == ours
    assert rendered.count("<h2>") == 1 and rendered.strip().endswith("<p>Our footer.</p>")
    assert MARKER not in text and OTHER_MARKER not in outside
    # The fake headline is shown as text inside a paragraph or code, never as a heading.
    assert re.fullmatch(r"<h2>\S+ api-mcp-test</h2>", re.search("<h2>.*</h2>", rendered)[0])
    assert f"<h2>{FAKE_HEADLINE[3:]}" not in rendered
    for line in text.splitlines():  # a step printing report.md cannot issue commands either
        assert not line.strip().startswith(("::", "##[")), line


def test_the_comment_body_starts_with_our_marker_only() -> None:
    text = markdown.render(hostile_report())
    body = f"{MARKER}\n{github.fit(text, 65_000, 'see the summary')}"
    assert body.count("<!-- api-mcp-test:") == 1 and body.startswith(MARKER + "\n")


def test_truncation_closes_a_long_fence() -> None:
    text = "head\n`````\n" + "line\n" * 5000 + "`````\ntail\n"
    cut = github.fit(text, 2000, "See the artifact.")
    rendered = html_of(cut)
    assert "report truncated. See the artifact." in outside_code(rendered)


def test_junit_carries_no_controls_mentions_or_commands() -> None:
    xml = junit.render(hostile_report())
    root = ET.fromstring(xml.encode())
    texts = [root.get("name") or ""]
    for element in root.iter():
        texts += [element.text or "", *(element.attrib.values())]
    joined = "\n".join(texts)
    assert "\x1b" not in joined and "\u202e" not in joined and "\r" not in joined
    assert "@octocat" not in joined and "@octo-org" not in joined
    for line in joined.splitlines():
        assert not line.strip().startswith(("::", "##[")), line


def test_annotations_carry_no_controls() -> None:
    lines = github.failure_annotations(hostile_report(), Path("/repo"), Path("/repo"))
    assert lines and all(line.startswith("::error ") and "\n" not in line for line in lines)
    assert not any("\x1b" in line or "\u202e" in line for line in lines)


# -- nothing tested ---------------------------------------------------------------------------


def _all_skipped() -> RunReport:
    results = [EndpointResult(Endpoint("GET", f"/p{i}", f"p{i}"), f"p{i}", "skipped",
                              reason="needs auth: answered 401") for i in range(3)]
    return RunReport(status="completed", repo_info=None, spec=None, results=results)


def test_nothing_tested_is_never_a_pass() -> None:
    import entrypoint
    from runner.report.verdict import exit_code

    for report in (_all_skipped(), RunReport(status="completed", repo_info=None, spec=None)):
        assert report.nothing_tested and not report.overall_success
        assert int(exit_code(report)) == 3 == int(exit_code(report, "new-failures"))
        assert [int(entrypoint.exit_code(report, f)) for f in ("failures", "errors", "never")] \
            == [3, 3, 0]
        assert entrypoint.status(report) == "error"
        text = markdown.render(report)
        assert text.startswith("## ⚠️ api-mcp-test") and "**Nothing was tested" in text
        assert "nothing-tested" in junit.render(report)
    assert "Most common reason (3 of 3): needs auth: answered 401" in markdown.render(
        _all_skipped())
    assert github.failure_annotations(_all_skipped(), Path("/r"), Path("/r"))[0].startswith(
        "::error title=api-mcp-test%3A nothing tested::Nothing was tested")


def test_one_judged_endpoint_is_a_run() -> None:
    report = _all_skipped()
    report.results.append(EndpointResult(Endpoint("GET", "/ok", "ok"), "ok", "passed"))
    assert not report.nothing_tested and report.overall_success


# -- golden files -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "render"), [
    ("hostile-comment.md", lambda: f"{MARKER}\n" + markdown.render(
        hostile_report(), footer="The full report is in `api-mcp-test-report/`.")),
    ("hostile-report.md", lambda: markdown.render(hostile_report())),
    ("crashed-report.md", lambda: markdown.render(crashed_report())),
    ("hostile-junit.xml", lambda: junit.render(hostile_report())),
])
def test_golden(name: str, render) -> None:  # type: ignore[no-untyped-def]
    """What users see for a hostile app, checked in exactly; UPDATE_GOLDEN=1 rewrites."""
    path = GOLDEN / name
    text = render()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
