"""The LLM agent's instructions: one template per suite in prompts/, and the user's scenarios.

Kept apart from the agent so the CLI can check a scenarios file without importing Agno.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from runner import untrusted
from runner.errors import UsageError
from runner.models import ApiSpec, Endpoint, Suite

_PROMPTS = Path(__file__).parent / "prompts"


def load_scenarios(path: Path, root: Path | None = None) -> list[str]:
    """A Markdown file, one scenario per `##` section (title line plus its text). With `root`,
    the file is the repository's: read inside it with runner/untrusted.py."""
    try:
        text = (untrusted.read_text(root, path, "the scenarios file") if root is not None
                else path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"Cannot read the scenarios file {path}: {exc.strerror}.") from None
    sections = [s.strip() for s in re.split(r"^##(?!#)", text, flags=re.MULTILINE)[1:]]
    scenarios = [s for s in sections if s]
    if not scenarios:
        raise UsageError(f"{path} has no scenarios.",
                         "Write one scenario per section, each starting with a '## title' line.")
    return scenarios


def session_instructions(spec: ApiSpec, endpoints: list[Endpoint], tool_names: dict[str, str],
                         suite: Suite, scenarios: list[str], max_calls: int,
                         auth: str = "") -> str:
    rules = Template((_PROMPTS / f"{suite}.md").read_text()).substitute(
        scenarios="\n\n".join(f"### Scenario {i}\n{s}" for i, s in enumerate(scenarios, 1)))
    operations = "\n".join(
        f"- {tool_names[e.key]}: {e.key}" + (f" ({e.summary})" if e.summary else "")
        for e in endpoints)
    return Template((_PROMPTS / "session.md").read_text()).substitute(
        title=spec.title or "API", operations=operations, suite_rules=rules.strip(),
        max_calls=max_calls, auth=auth.strip() + "\n\n" if auth.strip() else "")


def auth_instructions(protected: list[str], state: str, can_log_in: bool) -> str:
    """What the model needs to know about credentials ("" when nothing needs them)."""
    if not protected and not can_log_in:
        return ""
    listed = "\n".join(f"- {name}" for name in protected) or "- (none known yet)"
    return Template((_PROMPTS / ("auth.md" if can_log_in else "auth-fixed.md")).read_text()
                    ).substitute(protected=listed, state=state)
