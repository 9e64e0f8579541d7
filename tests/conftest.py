"""Shared fixtures. Tests that need Docker use the `docker_engine` / `base_image` fixtures: without an
engine they skip, unless PATCHWRIGHT_REQUIRE_DOCKER=1 (CI), where they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REQUIRE_DOCKER = os.environ.get("PATCHWRIGHT_REQUIRE_DOCKER") == "1"


@pytest.fixture(scope="session")
def docker_engine():
    from sandbox.docker_util import docker_client
    from sandbox.errors import UserError

    try:
        return docker_client(timeout=60)
    except UserError as exc:
        if REQUIRE_DOCKER:
            pytest.fail(f"PATCHWRIGHT_REQUIRE_DOCKER=1 but {exc}")
        pytest.skip(f"needs a Docker engine: {exc}")


@pytest.fixture(scope="session")
def base_image(docker_engine) -> str:
    """The base image (built once per machine; its tag is content-addressed by its recipe)."""
    from sandbox.images import ensure_base_image

    return ensure_base_image("3.11")


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": "/dev/null"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout


def make_repo(path: Path, files: dict[str, str | bytes], commit: bool = True) -> Path:
    """A git repository at `path` with `files`, committed unless commit=False."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for rel, content in files.items():
        f = path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            f.write_bytes(content)
        else:
            f.write_text(content)
    if commit and files:
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "init")
    return path


@pytest.fixture
def small_repo(tmp_path) -> Path:
    return make_repo(tmp_path / "repo", {
        "README.md": "# demo\n",
        "pkg/__init__.py": "",
        "pkg/core.py": "def add(a, b):\n    return a + b\n",
        "tests/test_core.py": "from pkg.core import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
        ".gitignore": "*.pyc\n__pycache__/\n",
    })


def run_cli(*args: str, env: dict | None = None, cwd: str | None = None, timeout: float = 600,
            input: str | None = None) -> subprocess.CompletedProcess:
    """Run `python -m patchwright ARGS` in a subprocess; returns the completed process (text)."""
    return subprocess.run([sys.executable, "-m", "patchwright", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout, input=input)


def tree_snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root (the .git directory included) with its bytes, for byte-for-byte checks."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


@pytest.fixture
def stub_llm():
    """A local stand-in for the OpenAI and Anthropic APIs (tests/stub_llm.py): script its turns with
    .reply()/.fail(), point a client at .openai_url or .anthropic_url, inspect .requests."""
    from stub_llm import StubLLM

    with StubLLM() as stub:
        yield stub


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """patchwright's user cache (symbols, suite times) goes to a directory of this session."""
    if "PATCHWRIGHT_CACHE_DIR" not in os.environ:
        os.environ["PATCHWRIGHT_CACHE_DIR"] = str(tmp_path_factory.mktemp("patchwright-cache"))
    yield
