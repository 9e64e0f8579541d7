"""The two kinds of errors at the command line: the user's (exit 2, one line) and the system's
(exit 1, one line; the traceback only with PATCHWRIGHT_DEBUG=1)."""

from __future__ import annotations

import httpx
import pytest

from agent.models.errors import MissingAPIKey, ModelError, RetriesExhausted
from agent.prompting import PromptError, render
from github_bot.client import GitHubClient, GitHubError
from patchwright import cli
from sandbox.errors import PatchwrightError, SystemFault, UserError


def _exit_of(monkeypatch, capsys, exc: Exception) -> tuple[int, str]:
    """Run the command's entry point with a command that raises `exc`: (exit status, stderr)."""
    def boom(**kwargs):
        raise exc
    monkeypatch.setattr(cli.cli, "main", boom)
    with pytest.raises(SystemExit) as stop:
        cli.main([])
    return stop.value.code, capsys.readouterr().err


def _github_failing(status: int) -> GitHubError:
    """The error a GitHub client raises when every attempt answers `status`."""
    client = GitHubClient("o/r", "t", api_url="http://github.invalid", max_attempts=3, sleep=lambda s: None)
    client._http = httpx.Client(base_url="http://github.invalid",
                                transport=httpx.MockTransport(lambda req: httpx.Response(status, json={"message": "no"})))
    with pytest.raises(GitHubError) as err:
        client.request("GET", "/repos/o/r")
    return err.value


def test_the_hierarchy_says_whose_error_it_is():
    assert issubclass(UserError, PatchwrightError) and issubclass(SystemFault, PatchwrightError)
    assert UserError.exit_code == 2 and SystemFault.exit_code == 1
    assert MissingAPIKey("k").exit_code == 2 and isinstance(MissingAPIKey("k"), UserError)
    assert RetriesExhausted("x").exit_code == 1 and not isinstance(RetriesExhausted("x"), UserError)
    assert issubclass(ModelError, SystemFault) and issubclass(PromptError, SystemFault)


def test_a_user_error_exits_2_in_one_line(monkeypatch, capsys):
    code, err = _exit_of(monkeypatch, capsys, UserError("no such file: x.py"))
    assert code == 2 and err == "patchwright: error: no such file: x.py\n"


def test_github_5xx_after_retries_exits_1_in_one_line(monkeypatch, capsys):
    exc = _github_failing(503)
    assert "after 3 attempts" in str(exc)
    monkeypatch.delenv("PATCHWRIGHT_DEBUG", raising=False)
    code, err = _exit_of(monkeypatch, capsys, exc)
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("patchwright: failed: GitHub API GET /repos/o/r -> 503") and "PATCHWRIGHT_DEBUG=1" in err


def test_github_refusal_is_the_users_to_fix(monkeypatch, capsys):
    code, err = _exit_of(monkeypatch, capsys, _github_failing(404))
    assert code == 2 and err.startswith("patchwright: error: GitHub API GET /repos/o/r -> 404")


def test_a_broken_shipped_template_exits_1(monkeypatch, capsys, tmp_path):
    (tmp_path / "t.j2").write_text("{{ missing }}")
    with pytest.raises(PromptError) as broken:
        render("t", template_dir=tmp_path)
    monkeypatch.delenv("PATCHWRIGHT_DEBUG", raising=False)
    code, err = _exit_of(monkeypatch, capsys, broken.value)
    assert code == 1 and err.startswith("patchwright: failed: prompt template t.j2") and "Traceback" not in err


def test_the_traceback_only_with_patchwright_debug(monkeypatch, capsys):
    monkeypatch.setenv("PATCHWRIGHT_DEBUG", "1")
    def boom(**kwargs):
        raise RetriesExhausted("openai:m: gave up after 5 attempt(s)")
    monkeypatch.setattr(cli.cli, "main", boom)
    with pytest.raises(RetriesExhausted):
        cli.main([])
    code, err = _exit_of(monkeypatch, capsys, UserError("bad path"))  # the user's error stays one line
    assert code == 2 and err == "patchwright: error: bad path\n"
    monkeypatch.delenv("PATCHWRIGHT_DEBUG")
    code, err = _exit_of(monkeypatch, capsys, KeyError("x"))  # a bug: one line, exit 1
    assert code == 1 and err.startswith("patchwright: internal error: KeyError") and "Traceback" not in err
