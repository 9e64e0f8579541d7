"""The texts the bot writes: branch name, commit message, pull request title and body, comments.

Text that came from the issue (its title) is cleaned to one short line before it is used; the
issue body is never echoed.
"""

from __future__ import annotations

import re
from collections import Counter

from agent.fix import FixOutcome

from .event import MARKER

STATUS_WORDS = {
    "verified": "verified: the tests pass with the change",
    "submitted": "submitted: a patch the tests did not confirm; review with care",
    "failed": "failed: no patch that holds up",
    "budget_exhausted": "budget exhausted before a fix was confirmed",
    "format_error": "stopped: the model kept making malformed tool calls",
    "error": "error: the run could not complete",
}


def branch_name(issue: int) -> str:
    return f"patchwright/issue-{issue}"


def one_line(text: str, limit: int = 80) -> str:
    """`text` on one line, without control characters, at most `limit` characters."""
    flat = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def tests_text(statuses: dict[str, str] | None) -> str:
    """`3 passed, 1 failed` from a status per test (summary.json's tests_before or tests_after)."""
    if statuses is None:
        return "not run"
    summary = Counter(s.lower() for s in statuses.values())
    order = ["passed", "failed", "error", "errors", "skipped", "xfailed", "xpassed"]
    keys = sorted(summary, key=lambda k: (order.index(k) if k in order else len(order), k))
    parts = [f"{summary[k]} {k}" for k in keys if summary[k]]
    return ", ".join(parts) if parts else "no tests collected"


def cost_text(cost: float | None) -> str:
    return "unknown" if cost is None else f"${cost:.2f}"


def _code(name: str) -> str:
    return "`" + one_line(name, 200).replace("`", "'") + "`"


def summary_table(outcome: FixOutcome) -> str:
    files = ", ".join(_code(f) for f in outcome.files_changed) or "none"
    rows = [
        ("status", STATUS_WORDS.get(outcome.status, outcome.status)),
        ("files changed", files),
        ("tests before", tests_text(outcome.tests_before)),
        ("tests after", tests_text(outcome.tests_after)),
        ("steps", str(outcome.steps)),
        ("tokens", f"{outcome.tokens:,}"),
        ("cost", cost_text(outcome.cost)),
        ("model", _code(outcome.model) if outcome.model else "unknown"),
    ]
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def commit_message(issue: int, title: str, outcome: FixOutcome) -> str:
    return (f"Fix #{issue}: {one_line(title, 60)}\n\n"
            f"Patch by patchwright ({outcome.model or 'unknown model'}), status {outcome.status}.\n\n"
            f"Fixes #{issue}\n")


def pr_title(issue: int, title: str) -> str:
    return f"Fix #{issue}: {one_line(title, 80)}"


def pr_body(issue: int, outcome: FixOutcome, actor: str) -> str:
    return (f"{MARKER}\nFixes #{issue}\n\n"
            f"patchwright proposes this change for #{issue} (run requested by @{one_line(actor, 40)}). "
            "Review it like any other contribution.\n\n"
            f"{summary_table(outcome)}\n\n"
            f"A new trigger on #{issue} updates this pull request.\n")


def done_comment(pull: dict, created: bool, outcome: FixOutcome) -> str:
    verb = "Opened" if created else "Updated"
    return (f"{MARKER}\n{verb} pull request #{pull['number']}: {pull.get('html_url', '')}\n\n"
            f"{STATUS_WORDS.get(outcome.status, outcome.status)}; files changed: "
            f"{len(outcome.files_changed)}; tests after: {tests_text(outcome.tests_after)}; "
            f"cost: {cost_text(outcome.cost)}.\n")


def status_comment(issue: int, outcome: FixOutcome, trigger_comment: str, open_pull: dict | None) -> str:
    text = f"{MARKER}\npatchwright did not open a pull request for #{issue}.\n\n{summary_table(outcome)}\n"
    if outcome.message:
        text += f"\nWhy: {one_line(outcome.message, 300)}\n"
    if open_pull:
        text += f"\nThe earlier pull request #{open_pull['number']} is unchanged.\n"
    return text + f"\nA maintainer can try again with the label or a comment `{trigger_comment}`.\n"
