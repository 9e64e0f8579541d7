"""The GitHub REST client against the fake server: paths and headers, retries, rate limits, errors."""

from __future__ import annotations

import socket
import time

import pytest
from fake_github import FakeGitHub
from github_scenario import REPO, SAMPLE, TOKEN

from conftest import make_repo
from github_bot.client import GitHubClient, GitHubError


@pytest.fixture
def gh(tmp_path):
    with FakeGitHub(tmp_path / "github", TOKEN) as server:
        server.add_repo(REPO, make_repo(tmp_path / "src", SAMPLE))
        server.add_issue(REPO, 1, "clamp ignores hi", "body")
        yield server


def client(gh: FakeGitHub, sleeps: list, **kw) -> GitHubClient:
    return GitHubClient(REPO, TOKEN, api_url=gh.api_url, sleep=sleeps.append, **kw)


def test_requests_carry_githubs_headers_and_honour_github_api_url(gh, monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", gh.api_url)  # an Enterprise-style URL: http://host/api/v3
    with GitHubClient(REPO, TOKEN) as c:
        assert c.get_repo()["default_branch"] == "main"
        assert c.get_issue(1)["title"] == "clamp ignores hi"
        assert c.find_open_pull("patchwright/issue-1") is None
        assert c.branch_sha("patchwright/issue-1") is None
        assert c.branch_sha("main") == gh.branch_sha(REPO, "main")
        assert TOKEN not in repr(c)
    reqs = gh.requests
    assert [r.line() for r in reqs] == [
        "GET /api/v3/repos/acme/calc -> 200",
        "GET /api/v3/repos/acme/calc/issues/1 -> 200",
        "GET /api/v3/repos/acme/calc/pulls?state=open&head=acme%3Apatchwright%2Fissue-1&per_page=10 -> 200",
        "GET /api/v3/repos/acme/calc/git/ref/heads/patchwright/issue-1 -> 404",
        "GET /api/v3/repos/acme/calc/git/ref/heads/main -> 200",
    ]
    for r in reqs:
        assert r.header("Authorization") == f"Bearer {TOKEN}"
        assert r.header("Accept") == "application/vnd.github+json"
        assert r.header("X-GitHub-Api-Version") == "2022-11-28"


def test_server_errors_are_retried_with_backoff(gh):
    sleeps: list[float] = []
    gh.fail("GET", r"/issues/1$", 502, times=2)
    assert client(gh, sleeps).get_issue(1)["number"] == 1
    assert [r.status for r in gh.requests] == [502, 502, 200]
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] > 0


def test_a_server_error_that_persists_ends_in_one_line(gh):
    sleeps: list[float] = []
    gh.fail("POST", r"/comments$", 500, times=10)
    with pytest.raises(GitHubError) as err:
        client(gh, sleeps, max_attempts=3).create_comment(1, "hello")
    assert str(err.value).startswith("GitHub API POST /repos/acme/calc/issues/1/comments -> 500 after 3 attempts")
    assert "\n" not in str(err.value) and len(sleeps) == 2


@pytest.mark.parametrize("status,headers,message,expected", [
    (403, {"retry-after": "7"}, "You have exceeded a secondary rate limit.", (7.0, 7.0)),
    (429, {"retry-after": "3"}, "Too many requests", (3.0, 3.0)),
    (403, {}, "You have exceeded a secondary rate limit. Please wait a few minutes.", (60.0, 60.0)),
    (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "RESET"}, "API rate limit exceeded", (25.0, 32.0)),
])
def test_rate_limits_wait_as_github_asks(gh, status, headers, message, expected):
    sleeps: list[float] = []
    headers = {k: str(int(time.time()) + 30) if v == "RESET" else v for k, v in headers.items()}
    gh.fail("POST", r"/comments$", status, headers=headers, message=message)
    assert client(gh, sleeps).create_comment(1, "hello")["body"] == "hello"
    assert len(sleeps) == 1 and expected[0] <= sleeps[0] <= expected[1]
    assert len(gh.repos[REPO].comments[1]) == 1


def test_a_rate_limit_longer_than_the_cap_is_an_error_not_a_hang(gh):
    sleeps: list[float] = []
    gh.fail("GET", r"/issues/1$", 403, headers={"retry-after": "3600"}, message="secondary rate limit")
    with pytest.raises(GitHubError, match="rate limited for 3600s more"):
        client(gh, sleeps, max_wait=600).get_issue(1)
    assert sleeps == []


def test_a_permission_error_is_not_retried_and_says_what_to_check(gh):
    sleeps: list[float] = []
    gh.fail("POST", r"/pulls$", 403, message="Resource not accessible by integration")
    with pytest.raises(GitHubError) as err:
        client(gh, sleeps).create_pull(title="t", head="b", base="main", body="")
    assert sleeps == [] and err.value.status == 403
    assert "Resource not accessible by integration" in str(err.value) and "pull-requests: write" in str(err.value)


def test_a_bad_token_and_validation_errors_are_one_line(gh):
    with pytest.raises(GitHubError, match=r"-> 401: Bad credentials; check the token"):
        GitHubClient(REPO, "wrong", api_url=gh.api_url).get_repo()
    with pytest.raises(GitHubError, match=r"-> 422: Validation Failed \(invalid\)") as err:
        client(gh, []).create_pull(title="t", head="no-such-branch", base="main", body="")
    assert err.value.status == 422


def test_an_unreachable_server_is_retried_then_named(gh):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket closes
    sleeps: list[float] = []
    c = GitHubClient(REPO, TOKEN, api_url=f"http://127.0.0.1:{port}/api/v3", sleep=sleeps.append, max_attempts=3)
    with pytest.raises(GitHubError, match=r"ConnectError.*after 3 attempts; is GITHUB_API_URL=http://127\.0\.0\.1"):
        c.get_repo()
    assert len(sleeps) == 2
