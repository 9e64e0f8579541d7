"""The built-in task suite (`builtin`): SWE-style tasks on small Python projects shipped here.

    projects/<project>/...          the base repository of each project (files as they are committed)
    tasks/<task>/task.yaml          project, FAIL_TO_PASS, PASS_TO_PASS, created_at
    tasks/<task>/issue.md           the issue, written like a real bug report
    tasks/<task>/gold.diff          the fix
    tasks/<task>/test.diff          the tests that judge a fix

A project becomes a git repository with one commit made with a fixed identity and date, so its
commit id (the tasks' base_commit) is the same on every machine for the same files.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

import yaml

from sandbox.git import commit_all, run

from ..paths import CACHE_DIR

HERE = Path(__file__).resolve().parent
REPO_PREFIX = "patchwright-builtin/"
_DATE = "2024-01-01T00:00:00+00:00"
_lock = threading.Lock()


def is_builtin(instance) -> bool:
    """Whether an instance (anything with a `repo`) is one of the suite's."""
    return instance.repo.startswith(REPO_PREFIX)


def _project_files(project: str) -> dict[str, bytes]:
    root = HERE / "projects" / project
    if not root.is_dir():
        raise KeyError(f"no built-in project {project!r}")
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc"):
            files[p.relative_to(root).as_posix()] = p.read_bytes()
    return files


def builtin_source(repo: str) -> Path:
    """The git repository of a built-in project (made once per content, in the cache)."""
    project = repo[len(REPO_PREFIX):] if repo.startswith(REPO_PREFIX) else repo
    files = _project_files(project)
    h = hashlib.sha256(b"".join(k.encode() + b"\0" + v for k, v in files.items())).hexdigest()[:12]
    dest = CACHE_DIR / "builtin" / f"{project}-{h}"
    with _lock:
        if (dest / ".git").is_dir():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{project}-", dir=dest.parent))
        try:
            for rel, data in files.items():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                (tmp / rel).write_bytes(data)
            os.environ.setdefault("TZ", "UTC")
            commit_all(tmp, f"{project}: base", env={"GIT_AUTHOR_DATE": _DATE, "GIT_COMMITTER_DATE": _DATE})
            try:
                tmp.rename(dest)
            except OSError:  # another process made it first
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return dest


@functools.lru_cache(maxsize=1)
def _task_dirs() -> list[Path]:
    return sorted(p for p in (HERE / "tasks").iterdir() if (p / "task.yaml").is_file())


def builtin_records() -> list[dict]:
    """Every task of the suite as the fields of an Instance (the projects' repositories are made
    when needed); `harness.instance.load_instances("builtin")` makes the instances."""
    out = []
    commits: dict[str, str] = {}
    for d in _task_dirs():
        meta = yaml.safe_load((d / "task.yaml").read_text())
        project = meta["project"]
        if project not in commits:
            src = builtin_source(REPO_PREFIX + project)
            commits[project] = run(src, "rev-parse", "HEAD", isolated=True, check=True).out
        out.append(dict(
            instance_id=f"builtin__{d.name}", repo=REPO_PREFIX + project, base_commit=commits[project],
            environment_setup_commit=commits[project], version="1.0",
            problem_statement=(d / "issue.md").read_text(), patch=(d / "gold.diff").read_text(),
            test_patch=(d / "test.diff").read_text(), FAIL_TO_PASS=meta["FAIL_TO_PASS"],
            PASS_TO_PASS=meta.get("PASS_TO_PASS", []), created_at=str(meta.get("created_at", "")),
            hints_text=meta.get("hints", "")))
    return out
