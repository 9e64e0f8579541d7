"""The GitHub bot's test scene: a fake GitHub with a sample repository, its checkout, events, and a
stand-in for the fix pipeline (the bot is what is under test, not the pipeline).

`Scenario` starts a FakeGitHub on 127.0.0.1 serving `acme/calc` (a small project whose `clamp`
ignores its upper bound, with tests that catch it) and clones it over HTTP, as actions/checkout
would. `labeled` and `commented` build the event payloads GitHub sends.

`ScriptedFixer` does what the pipeline does around the model, for real: it opens a LocalWorkspace
copy of the repository, runs the tests there, applies scripted edits (in place of the model's),
runs the tests again, takes the workspace's diff, and appends a trajectory to the run directory
(through the scrubber the bot hands it), including the sandbox's environment as an observation. It
records every call (its arguments and the process environment at the time) so tests can check what
the bot handed it.

The people of the scene: `maintainer` (admin) labels, `carol` (write) comments, `alice` filed the
issues; anyone else has read access only.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from fake_github import FakeGitHub

from agent.secrets import NO_SECRETS, Redactor
from conftest import make_repo
from github_bot.bot import BotConfig, BotResult, run
from github_bot.client import GitHubClient
from github_bot.event import TriggerConfig
from github_bot.fixer import FixOptions, FixOutcome
from sandbox.workspace import LocalWorkspace

TOKEN = "ghs_FAKEtoken0123456789abcdefABCDEF"
MODEL_KEY = "sk-ant-api03-FAKEKEY-0123456789"
REPO = "acme/calc"

BUGGY = "def clamp(x, lo, hi):\n    \"\"\"x limited to [lo, hi].\"\"\"\n    return max(lo, min(x, lo))\n"
FIX = {"calc/__init__.py": BUGGY.replace("min(x, lo)", "min(x, hi)")}
FIX_ALT = {"calc/__init__.py": BUGGY.replace("max(lo, min(x, lo))", "min(max(x, lo), hi)")}
WRONG_FIX = {"calc/__init__.py": BUGGY.replace("max(lo, min(x, lo))", "max(lo, x)")}
SAMPLE = {
    "calc/__init__.py": BUGGY,
    "tests/__init__.py": "",
    "tests/test_calc.py": ("import unittest\n\nfrom calc import clamp\n\n\nclass ClampTest(unittest.TestCase):\n"
                           "    def test_inside(self):\n        self.assertEqual(clamp(5, 0, 10), 5)\n\n"
                           "    def test_below(self):\n        self.assertEqual(clamp(-1, 0, 10), 0)\n\n"
                           "    def test_above(self):\n        self.assertEqual(clamp(11, 0, 10), 10)\n"),
    ".gitignore": "__pycache__/\n",
}

TEST_CMD = f"{shlex.quote(sys.executable)} -B -m unittest"


def unittest_counts(output: str) -> dict[str, int]:
    """{"passed": n, "failed": n, "errors": n} from unittest's summary."""
    ran = re.search(r"^Ran (\d+) tests?", output, re.M)
    failed = re.search(r"failures=(\d+)", output)
    errors = re.search(r"errors=(\d+)", output)
    counts = {"failed": int(failed.group(1)) if failed else 0, "errors": int(errors.group(1)) if errors else 0}
    counts["passed"] = (int(ran.group(1)) if ran else 0) - counts["failed"] - counts["errors"]
    return {k: v for k, v in counts.items() if v}


def per_test(counts: dict[str, int]) -> dict[str, str]:
    """A status per test, as summary.json holds them, for unittest's counts (the tests named by number)."""
    status = {"passed": "PASSED", "failed": "FAILED", "errors": "ERROR"}
    return {f"test_{kind}_{n}": status[kind] for kind, k in counts.items() for n in range(k)}


class ScriptedFixer:
    """Edits the repository as scripted and reports like `patchwright fix` would."""

    def __init__(self, edits: dict[str, str], *, status: str | None = None, detail: str = "",
                 steps: int = 7, tokens: int = 12345, cost: float | None = 0.42):
        self.edits = edits
        self.status = status
        self.detail = detail
        self.steps, self.tokens, self.cost = steps, tokens, cost
        self.calls: list[dict] = []

    def __call__(self, repo_dir: Path, issue_title: str, issue_body: str, options: FixOptions, *,
                 redactor: Redactor = NO_SECRETS) -> FixOutcome:
        self.calls.append({"repo_dir": repo_dir, "issue_title": issue_title, "issue_body": issue_body,
                           "options": options, "environ": dict(os.environ), "redactor": redactor,
                           "files": sorted(p.relative_to(repo_dir).as_posix() for p in repo_dir.rglob("*")
                                           if p.is_file() and ".git" not in p.relative_to(repo_dir).parts)})
        test_cmd = options.test_cmd or TEST_CMD
        traj = options.out_dir / "trajectory.jsonl"

        def step(**record) -> None:
            with traj.open("a", encoding="utf-8") as f:
                f.write(json.dumps(redactor.scrub_obj(record)) + "\n")

        step(node="task", issue_title=issue_title, issue_body=issue_body, model=options.model)
        with LocalWorkspace(repo_dir) as ws:
            env_seen = ws.run("env").output
            self.calls[-1]["sandbox_env"] = env_seen
            step(node="edit", tool="shell", command="env", observation=env_seen)
            before = ws.run(test_cmd, timeout=300)
            step(node="test", phase="before", output=before.output[-2000:])
            for path, text in self.edits.items():
                ws.write_file(path, text)
                step(node="edit", tool="write_file", path=path)
            after = ws.run(test_cmd, timeout=300)
            step(node="test", phase="after", output=after.output[-2000:])
            patch = ws.diff()
        status = self.status or ("verified" if after.ok else "failed")
        step(node="submit", status=status, patch=patch)
        return FixOutcome(status=status, patch=patch, files_changed=sorted(self.edits),
                          tests_before=per_test(unittest_counts(before.output)),
                          tests_after=per_test(unittest_counts(after.output)),
                          steps=self.steps, tokens=self.tokens, cost=self.cost, model=options.model,
                          message=self.detail)


def forms(secret: str) -> list[str]:
    """The ways a secret could travel: as is, base64, and in basic auth."""
    return [secret, base64.b64encode(secret.encode()).decode(),
            base64.b64encode(f"x-access-token:{secret}".encode()).decode()]


def labeled(number: int, label: str = "patchwright", *, sender: str = "maintainer") -> dict:
    """An `issues` event: `label` added to issue `number`."""
    return {"action": "labeled", "label": {"name": label},
            "issue": {"number": number, "title": "(title)", "state": "open", "user": {"login": "alice"},
                      "author_association": "NONE"},
            "repository": {"full_name": REPO, "default_branch": "main"}, "sender": {"login": sender, "type": "User"}}


def commented(number: int, body: str, association: str = "COLLABORATOR", *, user: str = "carol",
              user_type: str = "User", on_pull: bool = False, action: str = "created") -> dict:
    """An `issue_comment` event: a comment on issue (or pull request) `number`."""
    issue = {"number": number, "title": "(title)", "state": "open", "user": {"login": "alice"}}
    if on_pull:
        issue["pull_request"] = {"url": f"https://api.github.com/repos/{REPO}/pulls/{number}"}
    return {"action": action, "issue": issue,
            "comment": {"id": 1, "body": body, "user": {"login": user, "type": user_type},
                        "author_association": association},
            "repository": {"full_name": REPO, "default_branch": "main"}, "sender": {"login": user, "type": user_type}}


class Scenario:
    """A fake GitHub serving REPO, a checkout of it, and a way to run the bot against both."""

    def __init__(self, tmp: Path, source: Path | None = None):
        """`source`: a git repository to serve as REPO instead of the `clamp` sample."""
        self.tmp = tmp
        self.gh = FakeGitHub(tmp / "github", TOKEN).start()
        self.bare = self.gh.add_repo(REPO, source or make_repo(tmp / "src", SAMPLE))
        self.checkout = tmp / "checkout"
        subprocess.run(["git", "clone", "-q", self.gh.git_url(REPO), str(self.checkout)], check=True,
                       capture_output=True, env={**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null"})
        self.gh.set_permission(REPO, "maintainer", "admin")
        self.gh.set_permission(REPO, "carol", "write")
        self.gh.requests.clear()  # the clone is setup, not part of what a test checks
        self.sleeps: list[float] = []
        self.output: list[str] = []
        self.runs = 0

    def close(self) -> None:
        self.gh.stop()

    def issue(self, number: int, title: str, body: str, **kw) -> dict:
        return self.gh.add_issue(REPO, number, title, body, **kw)

    def client(self, repo: str, token: str | None = TOKEN) -> GitHubClient:
        return GitHubClient(repo, token, api_url=self.gh.api_url, sleep=self.sleeps.append)

    def out_dir(self, k: int | None = None) -> Path:
        return self.tmp / "runs" / f"run-{self.runs if k is None else k}"

    def delivered(self, payload: dict) -> dict:
        """The payload as GitHub delivers it: its issue as the issue is now (title, body, state, author).
        A payload whose issue has a body already is taken as delivered."""
        number = (payload.get("issue") or {}).get("number")
        issue = self.gh.repos[REPO].issues.get(number)
        if issue is None or "body" in payload["issue"]:
            return payload
        fields = {k: issue[k] for k in ("title", "body", "state", "user", "author_association")}
        return {**payload, "issue": {**payload["issue"], **fields}}

    def run(self, payload: dict, fixer, *, dry_run: bool = False, event_name: str | None = None,
            trigger: TriggerConfig | None = None, workspace: str = "docker", unsafe_local: bool = False) -> BotResult:
        """Deliver `payload` (with the issue as it is now) to the bot, with `fixer` behind its seam (the
        scripted fixer works in a LocalWorkspace whatever `workspace` the bot is told)."""
        self.runs += 1
        config = BotConfig(trigger=trigger or TriggerConfig(), dry_run=dry_run, unsafe_local=unsafe_local,
                           fix=FixOptions(model="replay:calc.jsonl", workspace=workspace, out_dir=self.out_dir()))
        return run(self.delivered(payload), config, lambda: fixer, self.client, repo_dir=self.checkout,
                   event_name=event_name, say=self.output.append)

    def remote_file(self, ref: str, path: str) -> str:
        return subprocess.run(["git", "--git-dir", str(self.bare), "show", f"{ref}:{path}"], check=True,
                              capture_output=True, text=True).stdout
