"""Workspace speed: run("true") in DockerWorkspace vs the `docker exec` CLI vs LocalWorkspace,
a workspace made ready from a 2,000-file repository, and diff() after 10 edits.

    python bench/workspace.py [--runs 50] [--files 2000]

Targets (issue: foundation): run("true") median <= 60 ms and no slower than `docker exec`;
workspace ready <= 3 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.docker_workspace import DockerWorkspace  # noqa: E402
from sandbox.images import ensure_base_image  # noqa: E402
from sandbox.workspace import LocalWorkspace  # noqa: E402


def stats(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(round(0.9 * (len(s) - 1))))]


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def make_repo(root: Path, n: int) -> Path:
    root.mkdir(parents=True)
    for i in range(n):
        d = root / f"pkg{i % 40}"
        d.mkdir(exist_ok=True)
        (d / f"mod{i}.py").write_text("".join(f"def f{j}(x):\n    return x + {j}\n\n" for j in range(20)))
    env = ["-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", *env, "commit", "-qm", "init"], cwd=root, check=True)
    return root


def row(name: str, samples: list[float], target: str = "") -> None:
    med, p90 = stats(samples)
    print(f"{name:<44} median {med * 1000:8.1f} ms   p90 {p90 * 1000:8.1f} ms   {target}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--files", type=int, default=2000)
    args = ap.parse_args()
    image = ensure_base_image("3.11", progress=lambda m: print(f"  {m}", file=sys.stderr))
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo", args.files)
        print(f"base image {image}; repo of {args.files} files; {args.runs} runs each\n")

        ready = []
        for _ in range(max(5, args.runs // 10)):
            t = time.perf_counter()
            ws = DockerWorkspace(image, repo)
            ready.append(time.perf_counter() - t)
            ws.close()

        ready_disk = []
        for _ in range(max(3, args.runs // 20)):
            t = time.perf_counter()
            ws = DockerWorkspace(image, repo, in_memory=False)
            ready_disk.append(time.perf_counter() - t)
            ws.close()

        with DockerWorkspace(image, repo) as ws:
            docker_true = timed(lambda: ws.run("true"), args.runs)
            cid = ws.container.id
            cli_true = timed(lambda: subprocess.run(["docker", "exec", cid, "true"], check=True), args.runs)
            files = ws.list_files()[:10]

            def edit_and_diff():
                for f in files:
                    ws.write_file(f, ws.read_file(f) + "# edit\n")
                t = time.perf_counter()
                d = ws.diff()
                elapsed = time.perf_counter() - t
                assert d.count("diff --git") == 10
                ws.run("git checkout -q -- .")
                return elapsed

            docker_diff = [edit_and_diff() for _ in range(max(5, args.runs // 5))]

        local_ready = []
        for _ in range(max(5, args.runs // 10)):
            t = time.perf_counter()
            lw = LocalWorkspace(repo)
            local_ready.append(time.perf_counter() - t)
            lw.close()
        with LocalWorkspace(repo) as lw:
            local_true = timed(lambda: lw.run("true"), args.runs)

    print("what                                         result                                 target")
    row('DockerWorkspace run("true")', docker_true, "<= 60 ms, <= docker exec CLI")
    row("docker exec CLI `true`", cli_true)
    row('LocalWorkspace run("true")', local_true)
    row(f"DockerWorkspace ready ({args.files} files)", ready, "<= 3 s")
    row("  the same, copied onto the container's disk", ready_disk)
    row(f"LocalWorkspace ready ({args.files} files)", local_ready)
    row("DockerWorkspace diff() after 10 edits", docker_diff)
    med_ws, med_cli = stats(docker_true)[0], stats(cli_true)[0]
    ok = med_ws <= 0.060 and med_ws <= med_cli and stats(ready)[0] <= 3.0
    print(f"\ntargets {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
