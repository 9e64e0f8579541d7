"""sandbox.git: the one way patchwright runs git on the host (identity, environment, no hooks)."""

from __future__ import annotations

import stat

from sandbox import git


def _repo(tmp_path):
    (tmp_path / "r").mkdir(parents=True)
    (tmp_path / "r" / "a.txt").write_text("a\n")
    git.commit_all(tmp_path / "r", "base")
    return tmp_path / "r"


def test_commits_carry_the_one_identity(tmp_path):
    repo = _repo(tmp_path)
    who = git.run(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", check=True).out
    ident = f"{git.IDENTITY['GIT_AUTHOR_NAME']} <{git.IDENTITY['GIT_AUTHOR_EMAIL']}>"
    assert who == f"{ident}|{ident}"


def test_no_hook_runs(tmp_path):
    repo = _repo(tmp_path)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch {tmp_path}/hooked\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    (repo / "b.txt").write_text("b\n")
    git.run(repo, "add", "b.txt", check=True)
    assert git.run(repo, "commit", "-q", "-m", "b").ok
    assert not (tmp_path / "hooked").exists()


def test_the_callers_git_variables_change_nothing(tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    other = _repo(tmp_path / "o")
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.quotePath")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "true")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'alias.status'='!touch pwned'")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "elsewhere.index"))
    (repo / "a.txt").write_text("changed\n")
    res = git.run(repo, "status", "--porcelain", check=True)
    assert res.out == "M a.txt"
    assert git.run(repo, "config", "--get", "core.quotePath").out == ""
    assert not trace.exists() and not (tmp_path / "elsewhere.index").exists()
    assert git.list_files(repo) == ["a.txt"]


def test_input_and_failure(tmp_path):
    repo = _repo(tmp_path)
    patch = "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+\u00e9\n"
    assert git.run(repo, "apply", "-", input=patch).ok
    assert (repo / "a.txt").read_text() == "\u00e9\n"
    bad = git.run(repo, "rev-parse", "--verify", "nope^{commit}")
    assert not bad.ok and bad.last_line()
    plain = tmp_path / "plain"
    plain.mkdir()
    assert git.list_files(plain) is None  # not a repository
