"""Which GitHub events the bot acts on. A pure function of the event payload and the trigger settings.

Acted on: `issues` with action `labeled` and the trigger label, added by a person (not a bot), and
`issue_comment` with action `created` whose first line is the trigger comment, written by a person
whose association is allowed. Everything else is ignored with one line saying why: another label,
a label added by a bot, a comment on a pull request, an untrusted author, a bot's comment (the bot's
own included), a workflow run for a fork's pull request, a closed issue, an unsupported event.

Labeling needs only triage access, so the bot checks through the API that whoever triggered it
has write access (bot.py); that needs a network call and is not decided here. The trigger carries
the issue's title and body as the event delivered them: the run acts on the issue as it was when
it was triggered, not on whatever it says by the time the run reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from sandbox.errors import UserError

MARKER = "<!-- patchwright -->"
"""Hidden marker in every comment and pull request body the bot writes (its own comments are ignored)."""


class TriggerConfig(BaseModel):
    """What makes the bot act."""

    label: str = "patchwright"
    """Adding this label to an issue triggers a run (compared case-insensitively, as GitHub does)."""
    comment: str = "/patchwright fix"
    """A new comment whose first line starts with this text triggers a run."""
    allowed_associations: list[str] = Field(default_factory=lambda: ["OWNER", "MEMBER", "COLLABORATOR"])
    """Author associations (GitHub's `author_association`) allowed to trigger by comment."""


@dataclass(frozen=True)
class Trigger:
    """An event the bot acts on."""

    repo: str
    """`owner/name` of the repository."""
    issue: int
    """The issue number."""
    actor: str
    """Who triggered it (the labeler or the commenter)."""
    via: str
    """How: `label` or `comment`."""
    title: str = ""
    """The issue's title as the event carried it."""
    body: str = ""
    """The issue's body as the event carried it."""


@dataclass(frozen=True)
class Ignored:
    """An event the bot does not act on, and why (one line)."""

    reason: str


def load_event(path: str | Path) -> dict:
    """The event payload at `path` (GITHUB_EVENT_PATH), or a UserError saying what is wrong with it."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"no such event file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the event file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"the event file {path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise UserError(f"the event file {path} does not hold a JSON object")
    return data


def event_name_of(payload: dict) -> str:
    """The event's name, inferred from the payload's shape (when GITHUB_EVENT_NAME is not given)."""
    if "comment" in payload and "issue" in payload:
        return "issue_comment"
    if "pull_request" in payload:
        return "pull_request"
    if "issue" in payload:
        return "issues"
    return "unknown"


def decide(payload: dict, config: TriggerConfig, event_name: str | None = None) -> Trigger | Ignored:
    """Act on this event, or ignore it with a reason."""
    name = event_name or event_name_of(payload)
    action = payload.get("action")
    repo = (payload.get("repository") or {}).get("full_name") or ""
    if name in ("pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"):
        head = ((payload.get("pull_request") or {}).get("head") or {}).get("repo") or {}
        if head.get("full_name") and head.get("full_name") != repo:
            return Ignored(f"the workflow was triggered from a fork ({head['full_name']}); forks get no run")
        return Ignored(f"unsupported event `{name}` (the bot answers `issues` and `issue_comment`)")
    if name not in ("issues", "issue_comment"):
        return Ignored(f"unsupported event `{name}` (the bot answers `issues` and `issue_comment`)")
    issue = payload.get("issue") or {}
    number = issue.get("number")
    if not repo or not isinstance(number, int):
        raise UserError("the event has no repository or issue number; is this a GitHub `issues` or "
                        "`issue_comment` event file?")
    if issue.get("pull_request"):
        return Ignored(f"#{number} is a pull request, not an issue")
    if name == "issues":
        if action != "labeled":
            return Ignored(f"issue #{number} was {action}, not labeled")
        label = (payload.get("label") or {}).get("name") or ""
        if label.casefold() != config.label.casefold():
            return Ignored(f"label '{label}' is not the trigger label '{config.label}'")
        sender = payload.get("sender") or {}
        actor = sender.get("login") or "?"
        if _is_bot(sender):
            return Ignored(f"the label was added by a bot (@{actor}); only people trigger a run")
        via = "label"
    else:
        if action != "created":
            return Ignored(f"a comment was {action}, not created")
        comment = payload.get("comment") or {}
        user = comment.get("user") or {}
        actor = user.get("login") or "?"
        body = comment.get("body") or ""
        if _is_bot(user) or MARKER in body:
            return Ignored(f"the comment is from a bot (@{actor})")
        if not _starts_with_trigger(body, config.comment):
            return Ignored(f"the comment does not start with '{config.comment}'")
        assoc = (comment.get("author_association") or "NONE").upper()
        allowed = [a.upper() for a in config.allowed_associations]
        if assoc not in allowed:
            return Ignored(f"@{actor}'s association {assoc} is not one of {','.join(allowed)}")
        via = "comment"
    if issue.get("state") == "closed":
        return Ignored(f"issue #{number} is closed")
    return Trigger(repo=repo, issue=number, actor=actor, via=via, title=str(issue.get("title") or ""),
                   body=str(issue.get("body") or ""))


def _is_bot(user: dict) -> bool:
    return user.get("type") == "Bot" or str(user.get("login") or "").endswith("[bot]")


def _starts_with_trigger(body: str, trigger: str) -> bool:
    first = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
    return first == trigger or first.startswith(trigger + " ")
