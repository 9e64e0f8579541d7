"""The GitHub bot: from an event to a pull request (or a status comment).

One run: decide whether the event is for us (event.py) and whether whoever triggered it has write
access; check that the issue is still open; run the fix pipeline, with the issue's title and body as
the event carried them (data), on a clean clone of the checked-out commit (its tracked files only);
when the outcome has a usable patch, commit it on `patchwright/issue-N` in a fresh repository,
force-push, open the pull request (or update the open one) and comment on the issue with its link;
otherwise comment with the status and open nothing. `dry_run` does the same reading and computing
but only says what it would push and post.

Secrets: the GitHub token is held by the GitHub client alone. The model's commands must not run
where the bot's secrets can be read: a local workspace runs them as this process's user, who can
read its environment from /proc/<pid>/environ even after a variable is taken out of os.environ, so
the bot refuses `workspace: local` unless `unsafe_local` says the risk is accepted. While the fixer
runs, every environment variable that holds the token is taken out of the process environment;
the pipeline gets a scrubber that knows the token's forms (agent.secrets) and takes them out of
everything it writes. Nothing the bot publishes or logs may carry the token or a model API key, in
any form the scrubber knows: a patch that holds one is refused, and texts are scrubbed. The push
runs from a repository the bot made (no hooks, none of the checkout's config) to the URL the
checkout's remote had before the fixer ran.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agent.secrets import Redactor
from agent.state import Status
from sandbox.errors import PatchwrightError, UserError
from sandbox.gitremote import (
    clean_clone,
    commit_patch,
    head_commit,
    local_changes,
    persisted_auth,
    push_repository,
    remote_url,
)
from sandbox.workspace import resolve_repo

from . import render
from .client import GitHubClient, GitHubError
from .event import Ignored, Trigger, TriggerConfig, decide
from .fixer import Fixer, FixOptions, FixOutcome, publishable

TOKEN_VARS = ("GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", "INPUT_GITHUB-TOKEN",
              "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
"""Variables taken out of the environment while the fixer runs (plus any other that holds the token)."""

BOT_IDENTITY = {"GIT_AUTHOR_NAME": "patchwright", "GIT_AUTHOR_EMAIL": "patchwright@users.noreply.github.com",
                "GIT_COMMITTER_NAME": "patchwright", "GIT_COMMITTER_EMAIL": "patchwright@users.noreply.github.com"}
"""Who the bot's pushed commits are by: GitHub's no-reply form, never a local address."""


class BotConfig(BaseModel):
    """Everything a bot run needs besides the event, the fixer and the GitHub client."""

    trigger: TriggerConfig = Field(default_factory=TriggerConfig)
    """What makes the bot act (label, comment, allowed associations)."""
    fix: FixOptions
    """Options handed to the fix pipeline (model, budget, test command, workspace, run directory)."""
    dry_run: bool = False
    """Say what would be pushed and posted; push nothing, post nothing."""
    remote: str = "origin"
    """The git remote of the checkout whose URL the branch is pushed to."""
    unsafe_local: bool = False
    """Accept `workspace: local` although the model's commands can then read the bot's token and
    the model's key (refused otherwise)."""


WRITE_PERMISSIONS = ("admin", "write")
"""Permissions (GitHub's collaborator permission; `maintain` reads as write) that may trigger a run."""
UNSAFE_LOCAL = ("with workspace local the model's commands run on the runner as this process's user: they can "
                "read the bot's GITHUB_TOKEN and the model's API key (from /proc/<pid>/environ, whatever the "
                "bot takes out of its environment), and change the checkout and the runner")


@dataclass
class BotResult:
    """What a run did."""

    action: Literal["ignored", "pull_opened", "pull_updated", "status_comment", "dry_run"]
    reason: str = ""
    outcome: FixOutcome | None = None
    pull_url: str | None = None
    comment_url: str | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.outcome is not None and self.outcome.status == "error" else 0


class _Log:
    """github.jsonl in the run directory: one JSON line per step, appended as it happens."""

    def __init__(self, path: Path, redactor: Redactor):
        self.path, self.redactor = path, redactor
        path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, step: str, **fields) -> None:
        record = json.loads(json.dumps({"time": round(time.time(), 3), "step": step, **fields}, default=str))
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(self.redactor.scrub_obj(record)) + "\n")


@contextmanager
def _without_token(client: GitHubClient) -> Iterator[None]:
    """The process environment without the GitHub token, for as long as the fixer runs."""
    removed = {k: os.environ.pop(k) for k in list(os.environ)
               if k in TOKEN_VARS or client.secret_in(os.environ[k])}
    try:
        yield
    finally:
        os.environ.update(removed)


def run(payload: dict, config: BotConfig, fixer_factory: Callable[[], Fixer],
        client_factory: Callable[[str], GitHubClient], *, repo_dir: str | Path = ".",
        event_name: str | None = None, say: Callable[[str], None] = print) -> BotResult:
    """Handle one event. Raises UserError for what the workflow's author must fix."""
    decision = decide(payload, config.trigger, event_name)
    if isinstance(decision, Ignored):
        say(f"patchwright: ignoring this event: {decision.reason}")
        return BotResult("ignored", reason=decision.reason)
    if not config.fix.model:
        raise UserError("no model: pass --model (the action's `model` input), e.g. anthropic:claude-sonnet-5-5")
    if config.fix.workspace == "local":
        if not config.unsafe_local:
            raise UserError(f"refusing workspace local: {UNSAFE_LOCAL}. Use workspace docker, or accept the risk "
                            "with --unsafe-local-workspace (the action's `unsafe-local-workspace: true`)")
        say(f"patchwright: WARNING: unsafe local workspace: {UNSAFE_LOCAL}. Secrets are scrubbed from what is "
            "written and a patch that holds one is refused, but that cannot catch every encoding: use workspace "
            "docker for issues anyone can file")
    fixer = fixer_factory()
    repo = resolve_repo(repo_dir)
    if changed := local_changes(repo):
        raise UserError(f"the checkout has uncommitted changes ({', '.join(changed[:3])}); the bot needs a clean one")
    with client_factory(decision.repo) as client:
        return _Run(decision, config, client, repo, say).go(fixer)


class _Run:
    def __init__(self, trigger: Trigger, config: BotConfig, client: GitHubClient, repo: Path,
                 say: Callable[[str], None]):
        self.t, self.config, self.client, self.repo = trigger, config, client, repo
        self.secrets = client.redactor()
        self.log = _Log(config.fix.out_dir / "github.jsonl", self.secrets)
        self.say = lambda msg: say(self.secrets.scrub(msg))
        self.dry = config.dry_run
        self.branch = render.branch_name(trigger.issue)

    def go(self, fixer: Fixer) -> BotResult:
        t = self.t
        self.log("trigger", repo=t.repo, issue=t.issue, actor=t.actor, via=t.via, dry_run=self.dry)
        try:
            permission = self.client.permission(t.actor)
        except GitHubError as exc:  # a dry run may have no token, and GitHub answers this call to members only
            if not (self.dry and exc.status in (401, 403)):
                raise
            self.say(f"[dry run] cannot check @{t.actor}'s permission without a token ({exc.status}); "
                     "a real run goes on only with write access")
            permission = None
        if permission is not None and permission not in WRITE_PERMISSIONS:
            return self._ignore(f"@{t.actor} has {permission} access to {t.repo}; triggering a run needs write access")
        issue = self.client.get_issue(t.issue)  # its state now; its text as the event carried it
        if issue.get("pull_request"):
            return self._ignore(f"#{t.issue} is a pull request, not an issue")
        if issue.get("state") == "closed":
            return self._ignore(f"issue #{t.issue} is closed")
        if str(issue.get("body") or "") != t.body or str(issue.get("title") or "") != t.title:
            self.say(f"patchwright: issue #{t.issue} was edited since the trigger; working on the text as it was then")
        base = head_commit(self.repo)
        url = None if self.dry else remote_url(self.repo, self.config.remote)  # read before any model runs
        with tempfile.TemporaryDirectory(prefix="patchwright-bot-", dir=os.environ.get("RUNNER_TEMP")) as tmp:
            source = clean_clone(self.repo, base, Path(tmp) / "source")
            pushing = push_repository(self.repo, base, Path(tmp) / "push.git")
            self.say(f"patchwright: issue #{t.issue} ({t.via} by @{t.actor}): running the fix pipeline "
                     f"with {self.config.fix.model} on {base[:12]} (tracked files only)")
            outcome, failure = self._fix(fixer, source, t.title, t.body)
            self.log("fix", **outcome.model_dump(exclude={"patch"}), patch_lines=len(outcome.patch.splitlines()))
            open_pull = self.client.find_open_pull(self.branch)
            if publishable(outcome):
                return self._publish(pushing, base, url, t.title, outcome, open_pull)
        result = self._post_status(outcome, open_pull)
        if failure is not None:
            raise failure
        return result

    def _ignore(self, reason: str) -> BotResult:
        self.say(f"patchwright: ignoring this event: {reason}")
        self.log("ignored", reason=reason)
        return BotResult("ignored", reason=reason)

    def _fix(self, fixer: Fixer, source: Path, title: str, body: str) -> tuple[FixOutcome, Exception | None]:
        """Run the fixer on `source` without the token in the environment; a crash becomes an `error`
        outcome."""
        opts = self.config.fix
        opts.out_dir.mkdir(parents=True, exist_ok=True)
        try:
            with _without_token(self.client):
                outcome = FixOutcome.model_validate(fixer(source, title, body, opts.model_copy(),
                                                          redactor=self.secrets))
        except PatchwrightError as exc:
            return FixOutcome(status="error", model=opts.model, message=str(exc)), exc
        except Exception as exc:  # the status comment says the run broke; the command shows the error
            return FixOutcome(status="error", model=opts.model, message=f"internal error: {type(exc).__name__}"), exc
        if outcome.patch and self.secrets.found(outcome.patch):
            return outcome.model_copy(update={
                "status": Status.ERROR, "patch": "",
                "message": "the patch contains a credential from the bot's environment (or an encoding of one); "
                          "refused to publish it",
            }), None
        return outcome, None

    def _publish(self, pushing: Path, base: str, url: str | None, title: str, outcome: FixOutcome,
                 open_pull: dict | None) -> BotResult:
        t = self.t
        sha = commit_patch(pushing, outcome.patch, render.commit_message(t.issue, title, outcome), base=base,
                           identity=BOT_IDENTITY)
        self.log("commit", sha=sha, base=base, branch=self.branch)
        base = self.client.get_repo().get("default_branch") or "main"
        pr_title = render.pr_title(t.issue, title)
        pr_body = self.secrets.scrub(render.pr_body(t.issue, outcome, t.actor))
        if self.dry:
            return self._dry_publish(sha, base, outcome, open_pull, pr_title, pr_body)
        if persisted_auth(self.repo):
            self.say("patchwright: warning: the checkout keeps a token in .git/config "
                     "(set `persist-credentials: false` on actions/checkout)")
        self.client.push(pushing, sha, self.branch, url)
        self.log("push", remote=self.config.remote, branch=self.branch, sha=sha)
        self.say(f"patchwright: pushed {sha[:12]} to {self.config.remote} {self.branch}")
        pull, created = self._open_or_update(open_pull, pr_title, pr_body, base)
        self.log("pull", number=pull["number"], url=pull.get("html_url"), created=created)
        self.say(f"patchwright: {'opened' if created else 'updated'} pull request #{pull['number']}: "
                 f"{pull.get('html_url', '')}")
        comment = self.client.create_comment(t.issue, self.secrets.scrub(render.done_comment(pull, created, outcome)))
        self.log("comment", url=comment.get("html_url"))
        return BotResult("pull_opened" if created else "pull_updated", outcome=outcome,
                         pull_url=pull.get("html_url"), comment_url=comment.get("html_url"))

    def _open_or_update(self, open_pull: dict | None, title: str, body: str, base: str) -> tuple[dict, bool]:
        if open_pull is None:
            try:
                return self.client.create_pull(title=title, head=self.branch, base=base, body=body), True
            except GitHubError as exc:
                # a retried create whose first attempt went through, or a pull request opened meanwhile
                if exc.status != 422 or (open_pull := self.client.find_open_pull(self.branch)) is None:
                    raise
        return self.client.update_pull(open_pull["number"], title=title, body=body), False

    def _dry_publish(self, sha: str, base: str, outcome: FixOutcome, open_pull: dict | None,
                     title: str, body: str) -> BotResult:
        t = self.t
        current = self.client.branch_sha(self.branch)
        where = f"currently at {current[:12]}" if current else "a new branch"
        self.say(f"[dry run] would push commit {sha[:12]} to {self.config.remote} {self.branch} ({where}):")
        self.say(outcome.patch.rstrip("\n"))
        if open_pull:
            self.say(f"[dry run] would update pull request #{open_pull['number']} (base {base}): {title}")
        else:
            self.say(f"[dry run] would open a pull request into {base}: {title}")
        self.say(body.rstrip("\n"))
        fake = open_pull or {"number": "N", "html_url": "(the new pull request)"}
        self.say(f"[dry run] would comment on #{t.issue}:")
        self.say(render.done_comment(fake, open_pull is None, outcome).rstrip("\n"))
        self.log("dry_run", sha=sha, branch=self.branch, base=base, update=open_pull is not None)
        return BotResult("dry_run", outcome=outcome)

    def _post_status(self, outcome: FixOutcome, open_pull: dict | None) -> BotResult:
        t = self.t
        text = self.secrets.scrub(render.status_comment(t.issue, outcome, self.config.trigger.comment, open_pull))
        self.say(f"patchwright: no pull request: status {outcome.status}"
                 + (f" ({render.one_line(outcome.message, 200)})" if outcome.message else ""))
        if self.dry:
            self.say(f"[dry run] would comment on #{t.issue}:\n{text.rstrip()}")
            self.log("dry_run", status=outcome.status)
            return BotResult("dry_run", outcome=outcome)
        comment = self.client.create_comment(t.issue, text)
        self.log("comment", url=comment.get("html_url"), status=outcome.status)
        return BotResult("status_comment", outcome=outcome, comment_url=comment.get("html_url"))
