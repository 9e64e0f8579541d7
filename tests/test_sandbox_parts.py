"""One rule each: the cache directory's variables, and the budget defaults the commands share."""

from __future__ import annotations

from pathlib import Path

from agent import limits
from agent.budget import DEFAULT_LIMITS
from sandbox.cachedir import cache_dir


def test_the_cache_variable_and_its_older_name(monkeypatch, tmp_path):
    for var in ("PATCHWRIGHT_CACHE_DIR", "PATCHWRIGHT_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "patchwright"
    monkeypatch.setenv("PATCHWRIGHT_CACHE", str(tmp_path / "old"))
    assert cache_dir() == tmp_path / "old"
    monkeypatch.setenv("PATCHWRIGHT_CACHE_DIR", str(tmp_path / "new"))
    assert cache_dir() == Path(tmp_path / "new")


def test_zero_on_the_command_line_is_no_limit():
    assert (DEFAULT_LIMITS.max_steps, DEFAULT_LIMITS.max_cost, DEFAULT_LIMITS.max_time) == (
        limits.MAX_STEPS, limits.MAX_COST, limits.MAX_TIME)
    assert limits.from_cli(0) is None and limits.from_cli(0.0) is None and limits.from_cli(None) is None
    assert limits.from_cli(7) == 7


def test_cleanup_goes_on_when_a_container_goes_between_listing_and_inspecting(monkeypatch):
    """The docker SDK lists containers, then inspects each: one removed in between (another run's
    close, a concurrent cleanup) raised NotFound out of `doctor --cleanup` ("internal error"). The
    client below behaves as the SDK does: NotFound unless the caller asks to ignore removed ones."""
    import docker

    from sandbox import docker_util

    class Containers:
        def list(self, all=False, filters=None, ignore_removed=False, **_):
            if not ignore_removed:
                raise docker.errors.NotFound("No such container: 3f2a")
            return []

    class Images:
        def list(self, filters=None):
            return []

    class Client:
        containers, images = Containers(), Images()

    monkeypatch.setattr(docker_util, "docker_client", lambda *a, **k: Client())
    assert docker_util.cleanup() == ([], [], [])
    assert docker_util.remove_unused_images(Client(), []) == ([], [])
