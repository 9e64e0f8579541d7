"""git on the host: one call with a fixed identity and no prompts (for repositories patchwright makes
or reads itself, never the user's working tree)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "patchwright",
            "GIT_AUTHOR_EMAIL": "patchwright@localhost", "GIT_COMMITTER_NAME": "patchwright",
            "GIT_COMMITTER_EMAIL": "patchwright@localhost"}


def git(*args: str, cwd: str | Path | None = None, check: bool = True, input: bytes | None = None,
        timeout: float = 900, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run git on the host with a fixed identity and no prompts."""
    res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input, timeout=timeout,
                         env={**os.environ, **_GIT_ENV, **(env or {})})
    if check and res.returncode != 0:
        raise RuntimeError(f"git {' '.join(args[:3])} failed: {res.stderr.decode(errors='replace').strip()[:300]}")
    return res
