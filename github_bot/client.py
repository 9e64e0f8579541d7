"""A small GitHub REST client: the handful of endpoints the bot needs, with retries.

Retries: 5xx answers and transport errors back off exponentially; rate limits (403/429 with a
`retry-after` header, with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`, or with a message
that names a secondary rate limit) wait as GitHub asks. Any other 4xx is an error at once.
`GITHUB_API_URL` selects the server (GitHub Enterprise: `https://HOST/api/v3`).

The token lives only here: it is sent in the Authorization header of API calls and, for a push,
in an HTTP header given to that one git process (see sandbox/gitremote.py); nothing reads it back.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from agent.secrets import Redactor
from sandbox.errors import SystemFault, UserError
from sandbox.gitremote import push_commit, redact

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"


class GitHubError(SystemFault):
    """A GitHub API call failed (after retries, where retrying made sense): the service failed (5xx,
    the network, the rate limit), which is not the user's to fix (exit 1)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class GitHubRefused(GitHubError, UserError):
    """GitHub refused the request (4xx but 429): the token, the repository name, the permissions are
    the user's to fix (exit 2)."""

    exit_code = UserError.exit_code


class GitHubClient:
    """The REST calls of the bot, for one repository (`owner/name`)."""

    def __init__(self, repo: str, token: str | None, *, api_url: str | None = None, max_attempts: int = 5,
                 backoff: float = 2.0, max_wait: float = 900.0, timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, user_agent: str = "patchwright"):
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise UserError(f"not a repository name (owner/name): {repo!r}")
        self.repo = repo
        self.owner = repo.split("/")[0]
        self.api_url = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                   "User-Agent": user_agent}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.api_url, headers=headers, timeout=timeout)
        self._token = token

    def __repr__(self) -> str:  # never shows the token
        return f"GitHubClient({self.repo!r}, api_url={self.api_url!r})"

    # -- what others may know about the token: whether text holds it, and text without it -----------
    def secret_in(self, text: str) -> bool:
        """Whether `text` carries the token (as is, or in its basic-auth form)."""
        return bool(self._token) and redact(text, self._token) != text

    def redact(self, text: str) -> str:
        return redact(text, self._token)

    def push(self, repo_dir: Path, sha: str, branch: str, url: str) -> str:
        """Force-push `sha` from `repo_dir` to `branch` of `url`, authenticated with the token for that
        push only."""
        return push_commit(repo_dir, sha, branch, url, token=self._token)

    def redactor(self, extra: Iterable[str] = ()) -> Redactor:
        """A scrubber that knows the token's forms (and the environment's secrets, and `extra`): what
        the bot hands the pipeline so that nothing it writes carries the token, without handing it
        the token as something to use."""
        return Redactor.from_env([self._token, *extra])

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the endpoints -----------------------------------------------------------------------------
    def _r(self, suffix: str = "") -> str:
        return f"/repos/{self.repo}{suffix}"

    def get_repo(self) -> dict:
        """GET /repos/{owner}/{repo} (default_branch, full_name, ...)."""
        return self.request("GET", self._r())

    def get_issue(self, number: int) -> dict:
        """GET /repos/{owner}/{repo}/issues/{number}."""
        return self.request("GET", self._r(f"/issues/{number}"))

    def permission(self, user: str) -> str:
        """`user`'s permission on the repository: admin, write (maintainers too), read (triage too)
        or none (GET .../collaborators/{user}/permission; a user GitHub does not know: none)."""
        try:
            data = self.request("GET", self._r(f"/collaborators/{quote(user, safe='')}/permission"))
        except GitHubError as exc:
            if exc.status == 404:
                return "none"
            raise
        return str((data or {}).get("permission") or "none")

    def create_comment(self, number: int, body: str) -> dict:
        """POST /repos/{owner}/{repo}/issues/{number}/comments."""
        return self.request("POST", self._r(f"/issues/{number}/comments"), json={"body": body})

    def find_open_pull(self, branch: str) -> dict | None:
        """The open pull request whose head is `branch` of this repository, or None."""
        pulls = self.request("GET", self._r("/pulls"),
                             params={"state": "open", "head": f"{self.owner}:{branch}", "per_page": 10})
        return pulls[0] if pulls else None

    def create_pull(self, *, title: str, head: str, base: str, body: str) -> dict:
        """POST /repos/{owner}/{repo}/pulls."""
        return self.request("POST", self._r("/pulls"),
                            json={"title": title, "head": head, "base": base, "body": body,
                                  "maintainer_can_modify": True})

    def update_pull(self, number: int, *, title: str, body: str) -> dict:
        """PATCH /repos/{owner}/{repo}/pulls/{number}."""
        return self.request("PATCH", self._r(f"/pulls/{number}"), json={"title": title, "body": body})

    def branch_sha(self, branch: str) -> str | None:
        """The commit `branch` points at on GitHub (GET .../git/ref/heads/{branch}), or None if absent."""
        try:
            ref = self.request("GET", self._r(f"/git/ref/heads/{quote(branch, safe='/')}"))
        except GitHubError as exc:
            if exc.status == 404:
                return None
            raise
        return ref.get("object", {}).get("sha")

    # -- transport ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        """One API call with retries; the decoded JSON body (None for an empty one)."""
        what = f"{method} {path}"
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            try:
                resp = self._http.request(method, path, params=params, json=json)
            except httpx.TransportError as exc:
                if last:
                    raise GitHubError(f"GitHub API {what}: {type(exc).__name__}: {exc} "
                                      f"(after {attempt} attempts; is GITHUB_API_URL={self.api_url} right?)") from None
                self._sleep(self._backoff(attempt))
                continue
            if resp.status_code < 400:
                return resp.json() if resp.content else None
            wait = self._retry_wait(resp, attempt)
            if wait is None or last:
                raise _error(what, resp, attempt)
            if wait > self.max_wait:
                raise GitHubError(f"GitHub API {what}: rate limited for {wait:.0f}s more; try again later",
                                  resp.status_code)
            self._sleep(wait)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return self.backoff * 2 ** (attempt - 1) * (1 + random.random() / 4)

    def _retry_wait(self, resp: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying `resp`, or None when it is not worth retrying."""
        code = resp.status_code
        if code >= 500:
            return self._backoff(attempt)
        if code not in (403, 429):
            return None
        retry_after = resp.headers.get("retry-after")
        if retry_after and retry_after.strip().isdigit():
            return float(retry_after)
        reset = resp.headers.get("x-ratelimit-reset")
        if resp.headers.get("x-ratelimit-remaining") == "0" and reset and reset.isdigit():
            return max(1.0, float(reset) - time.time() + 1)
        if "rate limit" in _message(resp).lower():
            # GitHub: wait at least a minute, then exponentially longer
            return 60.0 * 2 ** (attempt - 1)
        if code == 429:
            return self._backoff(attempt)
        return None  # a plain 403: a permission problem, not worth retrying


def _message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:200]
    if not isinstance(data, dict):
        return ""
    msg = str(data.get("message", ""))
    details = [e.get("message") or e.get("code") for e in data.get("errors", []) if isinstance(e, dict)]
    return msg + (f" ({'; '.join(str(d) for d in details if d)})" if any(details) else "")


_HINTS = {
    401: "check the token (GITHUB_TOKEN)",
    403: "does the workflow grant `contents: write`, `pull-requests: write` and `issues: write`?",
    404: "check the repository name, GITHUB_API_URL and the token's access",
}


def _error(what: str, resp: httpx.Response, attempts: int) -> GitHubError:
    msg = " ".join(_message(resp).split()) or resp.reason_phrase
    hint = _HINTS.get(resp.status_code)
    tail = f" after {attempts} attempts" if attempts > 1 else ""
    refused = 400 <= resp.status_code < 500 and resp.status_code != 429
    return (GitHubRefused if refused else GitHubError)(
        f"GitHub API {what} -> {resp.status_code}{tail}: {msg}" + (f"; {hint}" if hint else ""), resp.status_code)
