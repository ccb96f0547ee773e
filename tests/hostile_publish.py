"""Hostile text an app under test can put into what the run publishes (sec-out's cases).

`HOSTILE` is one string carrying every trick at once: raw HTML and images, mentions, links and
autolinks, another folder's comment marker, a fake "all passed" headline, a comment opener that
would hide the rest, `</details>`, a code-fence breakout, workflow commands and terminal escape
sequences (OSC 52 clipboard, window title, clear screen, CSI colours, CR overwrite, bidi override).
`hostile_report()` is a fixed report whose app-derived fields all carry it; the golden files in
tests/golden/ are what users see for it.
"""

from __future__ import annotations

from runner.models import (
    ApiSpec,
    CheckResult,
    Endpoint,
    EndpointResult,
    Finding,
    RunReport,
    StageTiming,
    ToolCall,
)

MARKER = "<!-- api-mcp-test:. -->"
OTHER_MARKER = "<!-- api-mcp-test:services/billing -->"
FAKE_HEADLINE = "## ✅ api-mcp-test: all 99 endpoints passed"
HOSTILE = (
    f"{OTHER_MARKER}\n{FAKE_HEADLINE}\n"
    "<img src=https://evil.example/pixel.png> @octocat @octo-org/security-team "
    "[click](https://evil.example/phish) ![x](https://evil.example/i.png) www.evil.example "
    "**bold** | cell ~~strike~~ <!-- the rest is hidden\n</details>\n"
    "````\n```\n::error file=main.py,line=1::forged\n  ::add-mask::x\n##[warning]old forged\n"
    "\x1b]52;c;ZXZpbCBjbGlwYm9hcmQ=\x07\x1b]0;pwned title\x07\x1b[2J\x1b[H\x1b[31mred\x1b[0m"
    "\rFAIL\x9b32m\u202etxt.exe"
)


def hostile_report() -> RunReport:
    """A completed run of an app that puts `HOSTILE` into everything it controls."""
    endpoint = Endpoint("GET", "/items/{id}/`x`|@octocat", "get_item", summary=HOSTILE,
                        source={"file": "main.py", "line": 12})
    call = ToolCall("c-1", "get_item", "GET", endpoint.path, {"id": HOSTILE[:40]},
                    url="http://127.0.0.1:8000/items/1", status_code=500, body=HOSTILE)
    failed = EndpointResult(
        endpoint, "get_item", "failed", reason=f"server error 500: {HOSTILE}", calls=[call],
        checks=[CheckResult("not_a_server_error", False, "c-1", f"500: {HOSTILE}")],
        findings=[Finding(endpoint.key, "fail", HOSTILE, ["c-1"], reasoning=HOSTILE)],
        warnings=[HOSTILE])
    health = EndpointResult(Endpoint("GET", "/health", "health"), "health", "passed",
                            calls=[ToolCall("c-2", "health", "GET", "/health", {},
                                            status_code=200, body={"ok": True})])
    spec = ApiSpec(framework="fastapi", app_locator="main:app", openapi={},
                   endpoints=[endpoint, health.endpoint], title=HOSTILE, version="1.0")
    return RunReport(status="completed", repo_info=None, spec=spec, results=[failed, health],
                     stages=[StageTiming("discovery", 1.25), StageTiming("agent", 2.5,
                                                                        note=HOSTILE)],
                     notes=[HOSTILE])


def crashed_report() -> RunReport:
    """A run that stopped at a stage, with the app's log tail and error carrying `HOSTILE`."""
    return RunReport(status="failed", repo_info=None, spec=None, failed_stage="servers",
                     error=f"The app exited during start-up: {HOSTILE}",
                     error_detail=f"INFO started\n{HOSTILE}\nTraceback: boom")
