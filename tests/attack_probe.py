"""Attacks that could eat the machine, run in a child process whose address space is capped.

`run_probe(name, **args)` runs `python tests/attack_probe.py NAME JSON` under RLIMIT_AS and a
wall-clock timeout, and returns the JSON the probe printed last. A regression (a read with no cap,
a guard with no bound) then fails the test with a MemoryError or a timeout instead of taking the
machine's memory with it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
AS_LIMIT = 3 * 1024 ** 3  # address space, not RSS: threads and arenas reserve more than they touch


class ProbeFailed(AssertionError):
    """The probe died (a MemoryError, a crash) or ran past its time."""


def run_probe(probe: str, *, timeout: float = 240, **args) -> dict:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)])}
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__)), probe, json.dumps(args)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout, preexec_fn=cap)
    except subprocess.TimeoutExpired:
        raise ProbeFailed(f"probe {probe} ran past {timeout:.0f} s") from None
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ProbeFailed(f"probe {probe} exited {proc.returncode}: {tail[:300]}")
    return json.loads(lines[-1])


# ---------------------------------------------------------------------------------------------
# the probes (run in the child)


def _workspace(kind: str, repo: str, image: str | None, name: str | None):
    from sandbox.docker_workspace import DockerWorkspace
    from sandbox.workspace import LocalWorkspace

    if kind == "local":
        return LocalWorkspace(repo)
    return DockerWorkspace(image, repo, name=name)


def probe_reads(kind: str, repo: str, image: str | None = None, name: str | None = None) -> dict:
    """Non-regular and huge files made in the workspace, then every tool that reads them."""
    from agent.localization import file_candidates, retrieve
    from tools.context import ToolContext
    from tools.toolset import TOOLS

    out: dict = {"view": {}}
    with _workspace(kind, repo, image, name) as ws:
        made = ws.run("ln -s /dev/zero z.txt && ln -s /dev/zero z2.py && mkfifo fifo.py && "
                      "truncate -s 20G huge.py && head -c 1000 /dev/zero > small.bin && echo made")
        out["made"] = made.output.strip()
        ctx = ToolContext(ws, index_cache=False)
        for path in ("zero.py", "z.txt", "z2.py", "fifo.py", "huge.py"):
            res = TOOLS.call(ctx, "view_file", {"path": path})
            out["view"][path] = [res.is_error, res.text]
        index = ctx.index()
        out["indexed"] = sorted(index.files)
        out["candidates"] = [c["path"] for c in file_candidates(ctx, ["zero.py", "fifo.py", "ok.py"], 2000)]
        found = retrieve(ws, "zero fifo huge z2 ok: the function ok_function fails", 10, 500)
        out["retrieved"] = found.files
        out["repo_map"] = found.repo_map
        out["read_many"] = sorted(ws.read_many(["zero.py", "z2.py", "fifo.py", "huge.py", "ok.py"]))
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def probe_guard(repo: str, path: str, old: str, new: str) -> dict:
    """One str_replace on a big file through the tools: its answer, its time, the memory it took."""
    from sandbox.workspace import LocalWorkspace
    from tools.context import ToolContext
    from tools.toolset import TOOLS

    with LocalWorkspace(repo) as ws:
        ctx = ToolContext(ws, index_cache=False)
        start = time.monotonic()
        res = TOOLS.call(ctx, "str_replace", {"path": path, "old": old, "new": new})
        took = time.monotonic() - start
        changed = old not in ws.read_bytes(path).decode() if not res.is_error else False
    return {"is_error": res.is_error, "text": res.text[:2000], "seconds": took, "changed": changed,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == "__main__":
    probe = globals()[f"probe_{sys.argv[1]}"]
    print(json.dumps(probe(**json.loads(sys.argv[2]))))
