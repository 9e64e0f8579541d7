"""Edit expressibility: can the agent's editing tools reproduce SWE-bench Lite gold patches exactly?

For each instance whose repository has a local mirror, the repository is checked out at
base_commit (a private clone sharing the mirror's objects; the mirror is never written), tool
calls are derived from the gold patch (swebench_runner/derive.py: replace_symbol per changed function,
insert_symbol / delete_symbol for new / removed definitions, str_replace for other changes,
create_file for new files), run through the real tools on a LocalWorkspace, and the files are
compared byte-for-byte with `git apply` of the gold patch.

    python bench/edit_expressibility.py --mirrors DIR [--dataset FILE] [--limit N] [--instances ID,...]
                                        [--json OUT] [--tmp DIR]

DIR holds bare mirrors named owner__name. Target (issue: agent tools): >= 95% reproduced.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.workspace import LocalWorkspace  # noqa: E402
from swebench_runner.derive import DeriveError, derive_tool_calls, parse_patch  # noqa: E402
from tools.context import ToolContext  # noqa: E402
from tools.toolset import TOOLS  # noqa: E402

TARGET = 0.95
FALLBACK_PREFIXES = ("str_replace:",)  # notes of calls that stand in for a symbol operation
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost", "GIT_CONFIG_GLOBAL": "/dev/null"}


def git(*args: str, cwd: str | None = None, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=GIT_ENV, input=input)


def checkout(mirror: Path, commit: str, dest: Path) -> str:
    """A private checkout of `commit` sharing the mirror's objects (the mirror is only read).
    Returns git's complaints (e.g. blobs the mirror lacks), empty when there were none."""
    res = git("clone", "-q", "--shared", "--no-checkout", str(mirror), str(dest))
    if res.returncode != 0:
        raise RuntimeError(f"clone failed: {res.stderr.decode(errors='replace').strip()[:200]}")
    res = git("-C", str(dest), "checkout", "-q", "--force", commit)
    warnings = res.stderr.decode(errors="replace").strip()
    if git("-C", str(dest), "rev-parse", "HEAD").stdout.decode().strip() != commit:
        raise RuntimeError(f"checkout of {commit[:12]} failed: {warnings[:200]}")
    return warnings


def gold_result(before: dict[str, bytes], patch: str, scratch: Path) -> dict[str, bytes | None]:
    """The touched files after `git apply` of the gold patch (None: the patch deletes the file)."""
    scratch.mkdir(parents=True)
    git("init", "-q", cwd=str(scratch))
    for rel, data in before.items():
        (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
        (scratch / rel).write_bytes(data)
    res = git("apply", "--whitespace=nowarn", "-", cwd=str(scratch), input=patch.encode("utf-8"))
    if res.returncode != 0:
        raise RuntimeError(f"git apply failed: {res.stderr.decode(errors='replace').strip()[:200]}")
    out: dict[str, bytes | None] = {}
    for fp in parse_patch(patch):
        for rel in {fp.old_path, fp.new_path} - {None}:
            f = scratch / rel
            out[rel] = f.read_bytes() if f.exists() else None
    return out


def run_instance(inst: dict, mirrors: Path, work: Path) -> dict:
    rec = {"instance_id": inst["instance_id"], "ok": False, "ops": [], "cause": None, "notes": []}
    mirror = mirrors / inst["repo"].replace("/", "__")
    if not mirror.exists():
        rec["cause"] = "skipped: no mirror"
        return rec
    src = work / "src"
    try:
        warnings = checkout(mirror, inst["base_commit"], src)
    except RuntimeError as exc:
        rec["cause"] = f"skipped: {exc}"
        return rec
    if warnings:
        rec["notes"].append(f"checkout: {warnings.splitlines()[0][:120]}")
    patch = inst["patch"]
    touched = sorted({p for fp in parse_patch(patch) for p in (fp.old_path, fp.new_path) if p})
    before = {p: (src / p).read_bytes() for p in touched if (src / p).is_file()}
    expected = gold_result(before, patch, work / "gold")
    try:
        calls = derive_tool_calls(before, patch)
    except DeriveError as exc:
        rec["cause"] = f"derive: {exc}"
        return rec
    rec["ops"] = [c["name"] for c in calls]
    rec["notes"] += [f"{c['name']}: {c['note']}" for c in calls if c.get("note")]
    with LocalWorkspace(src) as ws:
        ctx = ToolContext(ws)
        for call in calls:
            res = TOOLS.call(ctx, call["name"], call["arguments"])
            if res.is_error:
                rec["cause"] = f"tool error: {res.text.splitlines()[0][:300]}"
                rec["error_text"] = res.text[:2000]
                return rec
        changed = _diff_files(ws.diff())
        for rel in touched:
            got = ws.read_bytes(rel) if ws.exists(rel) else None
            if got != expected.get(rel):
                rec["cause"] = f"bytes differ in {rel}"
                return rec
        extra = changed - set(touched)
        if extra:
            rec["cause"] = f"other files changed: {', '.join(sorted(extra))}"
            return rec
    rec["ok"] = True
    return rec


def _diff_files(diff: str) -> set[str]:
    out = set()
    for line in diff.splitlines():
        if line.startswith("diff --git a/"):
            out.add(line.split(" b/", 1)[0][len("diff --git a/"):])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default=str(ROOT / ".." / "shared" / "swebench" / "lite-test.jsonl"),
                    help="SWE-bench JSONL (default: ../shared/swebench/lite-test.jsonl from the project root)")
    ap.add_argument("--mirrors", default=os.environ.get("PATCHWRIGHT_MIRRORS"),
                    help="directory of bare git mirrors named owner__name (or $PATCHWRIGHT_MIRRORS)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N runnable instances")
    ap.add_argument("--instances", default=None, help="comma-separated instance ids")
    ap.add_argument("--json", dest="json_out", default=None, help="write per-instance records here")
    ap.add_argument("--tmp", default=None, help="where checkouts and workspaces go (a tmpfs such as /dev/shm "
                    "makes the run several times faster)")
    args = ap.parse_args()
    if args.tmp:
        tempfile.tempdir = args.tmp
    if not args.mirrors:
        sys.exit("edit_expressibility: give --mirrors DIR (bare mirrors named owner__name)")
    mirrors = Path(args.mirrors)
    if not Path(args.dataset).is_file():
        sys.exit(f"edit_expressibility: no dataset at {args.dataset}; pass --dataset FILE")
    rows = [json.loads(line) for line in open(args.dataset) if line.strip()]
    if args.instances:
        wanted = set(args.instances.split(","))
        rows = [r for r in rows if r["instance_id"] in wanted]
    runnable = [r for r in rows if (mirrors / r["repo"].replace("/", "__")).exists()]
    if args.limit:
        runnable = runnable[:args.limit]
    print(f"{len(rows)} instances in {args.dataset}; {len(runnable)} with a mirror in {mirrors}")
    records = []
    t0 = time.monotonic()
    for k, inst in enumerate(runnable, 1):
        work = Path(tempfile.mkdtemp(prefix="pw-expr-"))
        try:
            rec = run_instance(inst, mirrors, work)
        except Exception as exc:  # a crash is a failure with its cause, not the end of the run
            rec = {"instance_id": inst["instance_id"], "ok": False, "ops": [],
                   "cause": f"crash: {type(exc).__name__}: {exc}", "notes": []}
        finally:
            shutil.rmtree(work, ignore_errors=True)
        records.append(rec)
        mark = "ok " if rec["ok"] else "FAIL"
        print(f"[{k:>3}/{len(runnable)}] {mark} {rec['instance_id']:<32} {','.join(rec['ops'])}"
              + (f"  <- {rec['cause']}" if rec["cause"] else ""), flush=True)
    report(records, time.monotonic() - t0)
    if args.json_out:
        Path(args.json_out).write_text("".join(json.dumps(r) + "\n" for r in records))


def report(records: list[dict], seconds: float) -> None:
    done = [r for r in records if not (r["cause"] or "").startswith("skipped")]
    ok = sum(r["ok"] for r in done)
    share = ok / len(done) if done else 0.0
    print(f"\nreproduced byte-for-byte: {ok}/{len(done)} = {share:.1%}   (target >= {TARGET:.0%})"
          f"   [{seconds:.0f} s]")
    clean = sum(r["ok"] and not any(n.startswith(FALLBACK_PREFIXES) for n in r["notes"]) for r in done)
    print(f"  ... of which with no fallback to str_replace: {clean}/{len(done)} = "
          f"{clean / len(done) if done else 0:.1%}")
    skipped = [r for r in records if r not in done]
    if skipped:
        print(f"skipped: {len(skipped)} ({'; '.join(sorted({r['cause'] for r in skipped}))})")
    calls = Counter(op for r in done for op in r["ops"])
    users: dict[str, list[dict]] = defaultdict(list)
    for r in done:
        for op in set(r["ops"]):
            users[op].append(r)
    print("\nby operation:            calls  instances  reproduced")
    for op, n in calls.most_common():
        rs = users[op]
        good = sum(r["ok"] for r in rs)
        print(f"  {op:<22} {n:>6} {len(rs):>10}  {good:>4}/{len(rs):<4} = {good / len(rs):.1%}")
    only = Counter("+".join(sorted(set(r["ops"]))) for r in done)
    print("\ninstances by the set of operations used:")
    for combo, n in only.most_common():
        print(f"  {n:>4}  {combo or '(none)'}")
    notes = Counter(n.split(" at lines")[0] for r in done for n in r["notes"])
    if notes:
        print("\nfallbacks and notes:")
        for note, n in notes.most_common():
            print(f"  {n:>4}  {note}")
    fails = [r for r in done if not r["ok"]]
    print(f"\nfailures ({len(fails)}):" if fails else "\nfailures: none")
    for r in fails:
        print(f"  {r['instance_id']}: {r['cause']}")


if __name__ == "__main__":
    main()
