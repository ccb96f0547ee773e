"""Hostile text an app under test can put into what the run publishes (sec-out's cases).

`HOSTILE` is one string carrying every trick at once: raw HTML and images, mentions, links and
autolinks, another folder's comment marker, a fake "all passed" headline, a comment opener that
would hide the rest, `</details>`, a code-fence breakout, workflow commands and terminal escape
sequences (OSC 52 clipboard, window title, clear screen, CSI colours, CR overwrite, bidi override).
`hostile_report()` is a fixed report whose app-derived fields all carry it; the golden files in
tests/golden/ are what users see for it.
"""

from __future__ import annotations

import re
from pathlib import Path

from runner.models import (
    ApiSpec,
    CheckResult,
    Endpoint,
    EndpointResult,
    Finding,
    RunReport,
    SourceLocation,
    StageTiming,
    ToolCall,
)
from tests.corpus import APP_SECRET, Case, Outcome  # the corpus imports this module lazily

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
                        source=SourceLocation("main.py", 12))
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


# -- cases of the hostile corpus (tests/corpus.py `all_cases()`) -------------------------------
# sec-out's section: what the run publishes. Each app is written by a `build` function and run
# with the fixture environment's FastAPI, through the CLI or as the action (entrypoint.py against
# the GitHub fake, which also holds a foreign comment carrying our marker).


def _write_app(repo: Path, body: str, prologue: str = "") -> None:
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "main.py").write_text(f'''"""A hostile app written by tests/hostile_publish.py."""

import base64
import os
import sys
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse

HOSTILE = {HOSTILE!r}
{prologue}

@app.get("/health")
def health() -> dict:
    return {{"ok": True}}
{body}
''')


def hostile_text_everywhere(repo: Path) -> None:
    """Title, summary, a 500 body and the log all carry `HOSTILE`."""
    _write_app(repo, '''
@app.get("/items/{item_id}", summary=HOSTILE, description=HOSTILE)
def item(item_id: int):
    print(HOSTILE, file=sys.stderr, flush=True)
    return PlainTextResponse(HOSTILE, status_code=500)
''', prologue="app = FastAPI(title=HOSTILE, description=HOSTILE, version=HOSTILE[:20])")


def hostile_log_at_startup(repo: Path) -> None:
    """The app prints `HOSTILE` (workflow commands, escapes) and dies while starting: the log
    tail the run prints and publishes is the app's."""
    _write_app(repo, '''
@app.on_event("startup")
def die():
    print(HOSTILE, file=sys.stderr, flush=True)
    print(HOSTILE, flush=True)
    raise RuntimeError(HOSTILE)
''', prologue="app = FastAPI(title='dies at startup')")


def every_endpoint_401(repo: Path) -> None:
    _write_app(repo, '''
@app.get("/items")
def items():
    return JSONResponse({"detail": "Not authenticated"}, status_code=401)


@app.get("/items/{item_id}")
def item(item_id: int):
    return JSONResponse({"detail": "Not authenticated"}, status_code=401)
''', prologue="app = FastAPI(title='locked')")
    # /health answers 401 too: nothing at all can be judged.
    main = repo / "main.py"
    main.write_text(main.read_text().replace('    return {"ok": True}',
                                             '    return JSONResponse({}, status_code=401)'))


def echoes_encoded_secret(repo: Path) -> None:
    """The app was handed DB_PASSWORD on purpose and echoes it base64 (at each alignment),
    hex, URL-encoded and split over lines, in bodies and in its log."""
    _write_app(repo, '''
SECRET = os.environ.get("DB_PASSWORD", "")
FORMS = [base64.b64encode((pad + SECRET).encode()).decode() for pad in ("", "x", "xy")]
FORMS += [base64.urlsafe_b64encode(SECRET.encode()).decode(), SECRET.encode().hex(),
          quote(SECRET, safe=""), SECRET[:6] + "\\n" + SECRET[6:]]
print("\\n".join(FORMS), file=sys.stderr, flush=True)


@app.get("/echo")
def echo() -> dict:
    return {"forms": FORMS, "basic": "Basic " + FORMS[0]}


@app.get("/broken")
def broken():
    return PlainTextResponse("\\n".join(FORMS), status_code=500)
''', prologue="app = FastAPI(title='echo')")


def _inert_publish(outcome: Outcome) -> None:
    """The comment and summary render app text as text; stdout and stderr carry no escape
    sequence and no app line forms a workflow command."""
    from markdown_it import MarkdownIt

    comment = (outcome.comment or "").split("\n", 1)[-1]  # after our marker
    published = [comment, outcome.summary] if outcome.case.action else []
    for text in [*published, (outcome.out / "report.md").read_text()]:
        html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
        outside = re.sub(r"<(pre|code)>.*?</\1>", "", html, flags=re.DOTALL)
        for forbidden in ("<img", "<!--", "@octocat", "@octo-org", "https://evil"):
            assert forbidden not in outside, forbidden
        assert all(href.startswith("https://github.example/")
                   for href in re.findall(r'<a href="([^"]*)"', outside))
        assert outside.count("<h2>") == 1
    for stream in (outcome.stdout, outcome.stderr):
        assert not any(c in stream for c in ("\x1b", "\x07", "\x9b", "\u202e"))
        for line in stream.splitlines():
            assert not (line.strip().startswith(("::", "##[")) and "forged" in line), line
            assert not line.strip().startswith("::add-mask::x"), line


def _log_tail_fenced(outcome: Outcome) -> None:
    _inert_publish(outcome)
    assert "Traceback" not in outcome.stdout + outcome.stderr  # the app's too: condensed
    start = re.search(r"^::stop-commands::([0-9a-f]{32})$", outcome.stdout, re.MULTILINE)
    assert start and f"::{start[1]}::" in outcome.stdout[start.end():]


def _nothing_tested(outcome: Outcome) -> None:
    assert outcome.report and all(r["outcome"] == "skipped"
                                  for r in outcome.report["test_results"])
    if outcome.case.action:
        assert "status<<" in outcome.outputs["outputs"]
        assert re.search(r"^status<<(\S+)\nerror\n\1$", outcome.outputs["outputs"], re.MULTILINE)
        assert "**Nothing was tested" in (outcome.comment or "")
    else:
        assert "Nothing was tested" in outcome.stdout


PUBLISH_CASES = [
    Case("hostile title, summary, body and log", 1, None, (), build=hostile_text_everywhere,
         check=_inert_publish),
    Case("hostile title, summary, body and log, as the action", 1, None, (),
         build=hostile_text_everywhere, action=True, inputs=(("timeout-minutes", "3"),),
         check=_inert_publish),
    Case("hostile log tail at startup, as the action", 3, "servers", (),
         build=hostile_log_at_startup, action=True, inputs=(("timeout-minutes", "3"),),
         check=_log_tail_fenced),
    Case("every endpoint answers 401 (nothing tested)", 3, None, (), build=every_endpoint_401,
         check=_nothing_tested),
    Case("every endpoint answers 401, as the action", 3, None, (), build=every_endpoint_401,
         action=True, inputs=(("timeout-minutes", "3"),), check=_nothing_tested),
    Case("app echoes a secret base64, hex, URL-encoded and split", 1, None, (),
         build=echoes_encoded_secret, app_env=(f"{APP_SECRET[0]}={APP_SECRET[1]}",)),
    Case("app echoes a secret encoded, as the action", 1, None, (),
         build=echoes_encoded_secret, app_env=(f"{APP_SECRET[0]}={APP_SECRET[1]}",),
         action=True, inputs=(("timeout-minutes", "3"),)),
]
