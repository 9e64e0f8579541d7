"""Localization accuracy on SWE-bench Lite, beside the published retrievers.

For each instance of a JSONL dataset whose repository has a local git mirror, the base commit
is extracted (read-only: `git archive` from the mirror into a temporary directory), the issue is
localized, and the gold files and functions are derived from the gold patch: changed lines
mapped to their enclosing functions with the symbol index (a method is `Class.method`; a
function nested in another counts as the outer one). "Acc@k" = every gold location is within
the top k. The function-level subset holds the instances whose patch modifies at least one
existing function (the published numbers use the 274 such instances of all of Lite).

A plain BM25-over-functions baseline (bm25s with its own tokenizer over every function's code
and path, files ranked by their best function; LocAgent's setup) runs on the same instances.

    python bench/localize.py --mirrors DIR [--dataset ../shared/swebench/lite-test.jsonl]
                             [--repos sympy,flask] [--limit N] [--no-baseline] [--json-out F]
    python bench/localize.py --mirrors DIR --timing sympy     # cold/warm index + localize, 5 instances

Mirrors are bare git repositories named `owner__name` under DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.retrieval import function_definitions, localize  # noqa: E402
from tools.symbols import SymbolCache, build_index, extract, language_of  # noqa: E402

ANCHORS = [  # SWE-bench Lite, the 274 function-modifying instances (LocAgent's table)
    ("BM25 over functions", 38.69, 61.68, 36.86),
    ("CodeRankEmbed (137M)", 52.55, 84.67, 58.76),
    ("SweRankEmbed-Large (7B)", 72.63, 94.16, 82.12),
    ("LocAgent + Claude 3.5", 77.74, 94.16, 77.37),
]
TARGET = "target: file Acc@5 >= 85, function Acc@10 >= 60"


def git_archive(mirror: Path, commit: str, dest: Path) -> None:
    """Extract `commit` of the bare repository `mirror` into `dest` (the mirror is only read)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    arch = subprocess.Popen(["git", f"--git-dir={mirror}", "archive", "--format=tar", commit],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    tar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=arch.stdout, capture_output=True)
    arch.stdout.close()
    err = arch.stderr.read().decode(errors="replace")
    if arch.wait() != 0 or tar.returncode != 0:
        if "invalid object" in err or "cannot read" in err:
            _extract_present(mirror, commit, dest, env)  # a mirror that lacks a few large blobs
            return
        raise RuntimeError(f"git archive {commit[:10]} failed: {(err or tar.stderr.decode())[:200]}")


def _extract_present(mirror: Path, commit: str, dest: Path, env: dict) -> None:
    """Extract every blob of `commit` the mirror has (`git cat-file --batch`), skipping missing ones."""
    res = subprocess.run(["git", f"--git-dir={mirror}", "ls-tree", "-r", "-z", commit], capture_output=True,
                         env=env, check=True)
    entries = []
    for item in res.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if item:
            meta, path = item.split("\t", 1)
            mode, kind, oid = meta.split()
            if kind == "blob" and mode != "120000":
                entries.append((oid, path))
    proc = subprocess.Popen(["git", f"--git-dir={mirror}", "cat-file", "--batch"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)
    import threading

    def feed() -> None:  # in a thread: git's output must be read while its input is written
        proc.stdin.write("".join(f"{oid}\n" for oid, _ in entries).encode())
        proc.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    for _oid, path in entries:
        header = proc.stdout.readline().split()
        if len(header) < 3 or header[1] == b"missing":
            continue
        data = proc.stdout.read(int(header[2]))
        proc.stdout.read(1)
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    writer.join()
    proc.wait()


def gold_locations(patch: str, root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """(files the patch modifies, (path, qualname) of the functions whose existing lines it changes)."""
    from unidiff import PatchSet

    files: list[str] = []
    funcs: list[tuple[str, str]] = []
    for pf in PatchSet(patch):
        if pf.is_added_file or pf.source_file == "/dev/null":
            continue
        path = pf.path
        full = root / path
        if not full.is_file():
            continue
        files.append(path)
        lang = language_of(path)
        if lang is None:
            continue
        data = full.read_bytes()
        fs = extract(lang, path, data)
        defs = function_definitions(_One(fs), path)
        lines = data.decode("utf-8", errors="replace").splitlines()

        def owner(line: int, defs=defs):
            best = None
            for d in defs:
                if d.start_line <= line <= d.end_line and (best is None or d.start_line >= best.start_line):
                    best = d
            return best

        hit: dict[str, None] = {}
        for hunk in pf:
            shift = _hunk_offset(hunk, lines)
            prev_old = hunk.source_start - 1 + shift
            for ln in hunk:
                if ln.is_removed:
                    d = owner(ln.source_line_no + shift)
                    if d:
                        hit[d.qualname] = None
                    prev_old = ln.source_line_no + shift
                elif ln.is_context:
                    prev_old = ln.source_line_no + shift
                elif ln.is_added and ln.value.strip():
                    # an insertion after old line prev_old: inside a function when that line is
                    # in it and the new line is indented deeper than the function's header
                    d = owner(prev_old) if prev_old >= 1 else None
                    if d is not None:
                        head = lines[d.name_line - 1] if d.name_line - 1 < len(lines) else ""
                        indent = len(head) - len(head.lstrip())
                        new_indent = len(ln.value) - len(ln.value.lstrip())
                        if prev_old < d.end_line or new_indent > indent:
                            hit[d.qualname] = None
        funcs.extend((path, q) for q in hit)
    return files, funcs


def _hunk_offset(hunk, lines: list[str]) -> int:
    """How far the hunk's old lines sit from where its header says, in the file as it is (a gold
    patch may apply with an offset, as `patch` allows): 0 when they are where it says or nowhere."""
    old = [ln.value.rstrip("\n") for ln in hunk if ln.is_context or ln.is_removed]
    start = hunk.source_start - 1
    if not old or lines[start:start + len(old)] == old:
        return 0
    best = None
    for i in range(len(lines) - len(old) + 1):
        if lines[i] == old[0] and lines[i:i + len(old)] == old and (best is None or abs(i - start) < abs(best - start)):
            best = i
    return 0 if best is None else best - start


class _One:
    def __init__(self, fs):
        self.files = {fs.path: fs}


def baseline(root: Path, issue: str, cache) -> tuple[list[str], list[tuple[str, str]]]:
    """Plain BM25 over every function (bm25s, its own English tokenizer): ranked functions, and
    files in the order of their best function."""
    import bm25s

    index = build_index(root, cache=cache)
    chunks, keys = [], []
    for path in index.files:
        data = (root / path).read_bytes()
        for d in function_definitions(index, path):
            chunks.append(f"{path} {d.qualname}\n" + data[d.start_byte:d.end_byte].decode("utf-8", "replace"))
            keys.append((path, d.qualname))
    if not chunks:
        return [], []
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(chunks, stopwords="en", show_progress=False), show_progress=False)
    q = bm25s.tokenize([issue], stopwords="en", show_progress=False)
    k = min(200, len(chunks))
    docs, _ = retriever.retrieve(q, k=k, show_progress=False)
    ranked = [keys[i] for i in docs[0]]
    files = list(dict.fromkeys(p for p, _ in ranked))
    return files, ranked


def acc(gold: list, ranked: list, k: int) -> bool:
    top = set(ranked[:k])
    return bool(gold) and all(g in top for g in gold)


def load_dataset(path: Path, mirrors: Path, repos: set[str] | None, limit: int | None):
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    kept, missing = [], defaultdict(int)
    for r in rows:
        name = r["repo"].replace("/", "__")
        if repos and not any(x in r["repo"] for x in repos):
            continue
        if not (mirrors / name).exists():
            missing[r["repo"]] += 1
            continue
        kept.append(r)
    return (kept[:limit] if limit else kept), missing


def run(args) -> int:
    mirrors = Path(args.mirrors)
    rows, missing = load_dataset(Path(args.dataset), mirrors, set(args.repos.split(",")) if args.repos else None,
                                 args.limit)
    if args.instances:
        wanted = set(args.instances.split(","))
        rows = [r for r in rows if r["instance_id"] in wanted]
    cache = SymbolCache(Path(args.cache_dir) / "symbols.sqlite") if args.cache_dir else SymbolCache()
    reuse = {}
    if args.reuse_baseline and Path(args.reuse_baseline).exists():
        for line in Path(args.reuse_baseline).read_text().splitlines():
            rec = json.loads(line)
            if "baseline" in rec:
                reuse[rec["instance_id"]] = rec["baseline"]
    results = []
    out_f = open(args.json_out, "w") if args.json_out else None
    print(f"{len(rows)} instances with a mirror ({sum(missing.values())} without: "
          f"{', '.join(f'{k} {v}' for k, v in sorted(missing.items()))})", file=sys.stderr)
    for n, r in enumerate(rows, 1):
        tmp = Path(tempfile.mkdtemp(prefix="pw-loc-"))
        try:
            t0 = time.perf_counter()
            try:
                git_archive(mirrors / r["repo"].replace("/", "__"), r["base_commit"], tmp)
            except RuntimeError as exc:
                print(f"[{n}/{len(rows)}] {r['instance_id']}: skipped ({exc})", file=sys.stderr)
                continue
            t_co = time.perf_counter() - t0
            gold_files, gold_funcs = gold_locations(r["patch"], tmp)
            if not gold_files:
                print(f"[{n}/{len(rows)}] {r['instance_id']}: skipped (the patch modifies no existing file)",
                      file=sys.stderr)
                continue
            loc = localize(tmp, r["problem_statement"], top_k=50, top_functions=50, cache=cache)
            rec = {"instance_id": r["instance_id"], "repo": r["repo"], "gold_files": gold_files,
                   "gold_functions": [f"{p}:{q}" for p, q in gold_funcs], "checkout": round(t_co, 3),
                   "timings": {k: round(v, 4) for k, v in loc.timings.items()},
                   "files": [f.path for f in loc.files],
                   "functions": [f"{f.path}:{f.name}" for f in loc.functions],
                   "signals": {f.path: {k: round(v, 3) for k, v in f.signals.items()} for f in loc.files[:10]}}
            if not args.no_baseline:
                if r["instance_id"] in reuse:
                    rec["baseline"] = reuse[r["instance_id"]]
                else:
                    t1 = time.perf_counter()
                    bf, bfun = baseline(tmp, r["problem_statement"], cache)
                    rec["baseline"] = {"files": bf[:50], "functions": [f"{p}:{q}" for p, q in bfun[:50]],
                                       "seconds": round(time.perf_counter() - t1, 3)}
            results.append(rec)
            if out_f:
                out_f.write(json.dumps(rec) + "\n")
                out_f.flush()
            rank = next((i + 1 for i, f in enumerate(rec["files"]) if f in gold_files), None)
            print(f"[{n}/{len(rows)}] {r['instance_id']}: gold file rank {rank}, "
                  f"localize {loc.timings['total']:.2f}s", file=sys.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if out_f:
        out_f.close()
    cache.close()
    report(results, not args.no_baseline, Path(args.dataset).name)
    return 0


def _row(name: str, recs: list[dict], key: str | None = None) -> list[str]:
    def pick(rec):
        return rec[key] if key else rec

    n = len(recs)
    sub = [r for r in recs if r["gold_functions"]]
    cells = [name, str(n), str(len(sub))]
    for k in (1, 3, 5):
        cells.append(_pct(sum(acc(r["gold_files"], pick(r)["files"], k) for r in sub), len(sub)))
    for k in (5, 10):
        cells.append(_pct(sum(acc(r["gold_functions"], pick(r)["functions"], k) for r in sub), len(sub)))
    for k in (1, 5):
        cells.append(_pct(sum(acc(r["gold_files"], pick(r)["files"], k) for r in recs), n))
    cells.append(_pct(sum(acc(r["gold_functions"], pick(r)["functions"], 10) for r in recs), n))
    return cells


def _pct(a: int, n: int) -> str:
    return f"{100.0 * a / n:.2f}" if n else "-"


def report(results: list[dict], with_baseline: bool, dataset: str) -> None:
    head = ["", "n", "n_fn", "file@1", "file@3", "file@5", "fn@5", "fn@10", "all file@1", "all file@5",
            "all fn@10"]
    rows = [_row("patchwright (all repos)", results)]
    if with_baseline:
        rows.append(_row("BM25 over functions (same instances)", [r for r in results if "baseline" in r],
                         "baseline"))
    by_repo = defaultdict(list)
    for r in results:
        by_repo[r["repo"]].append(r)
    for repo in sorted(by_repo):
        rows.append(_row(f"  {repo}", by_repo[repo]))
        if with_baseline:
            rows.append(_row("    baseline", [r for r in by_repo[repo] if "baseline" in r], "baseline"))
    widths = [max(len(str(x[i])) for x in [head, *rows]) for i in range(len(head))]
    print(f"\nLocalization on {dataset}: columns file@k/fn@k are the function-modifying subset "
          f"(n_fn); 'all' columns are every instance (an instance with no modified function counts as a "
          f"function miss)")
    for row in [head, *rows]:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    print("\nPublished on all of SWE-bench Lite (274 function-modifying instances):   file@1  file@5  fn@10")
    for name, a1, a5, f10 in ANCHORS:
        print(f"  {name:<70} {a1:6.2f}  {a5:6.2f}  {f10:6.2f}")
    print(f"  {TARGET}")
    if results:
        tot = [r["timings"]["total"] for r in results]
        scan = [r["timings"]["read"] + r["timings"]["scan"] for r in results]
        query = [r["timings"]["files"] + r["timings"]["functions"] for r in results]
        print(f"\nper instance (shared symbol cache): index (read + scan) median {statistics.median(scan):.2f}s, "
              f"query median {statistics.median(query):.2f}s, total median {statistics.median(tot):.2f}s, "
              f"max {max(tot):.2f}s")
        if any("baseline" in r and "seconds" in r["baseline"] for r in results):
            bs = [r["baseline"]["seconds"] for r in results if "seconds" in r.get("baseline", {})]
            print(f"baseline BM25 (index every function + query) median {statistics.median(bs):.2f}s")


def timing(args) -> int:
    """Cold and warm `patchwright localize` on several instances of one repository, each run in a
    fresh process. Cold: an empty symbol cache. Warm: the cache the cold run filled, same commit.
    Reports the wall time of the process (start and imports included) and the in-process index +
    localize time `localize` measures, per instance and as median and maximum."""
    mirrors = Path(args.mirrors)
    rows, _ = load_dataset(Path(args.dataset), mirrors, {args.timing}, None)
    if not rows:
        print(f"no instance of {args.timing} with a mirror", file=sys.stderr)
        return 2
    k = max(1, min(args.timing_instances, len(rows)))
    picked = [rows[round(i * (len(rows) - 1) / max(k - 1, 1))] for i in range(k)]  # spread over the dataset
    print(f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.2f}; {k} instances of {args.timing}")
    walls: dict[str, list[float]] = defaultdict(list)
    inner_t: dict[str, list[float]] = defaultdict(list)
    for r in picked:
        tmp = Path(tempfile.mkdtemp(prefix="pw-loc-"))
        cache_dir = Path(tempfile.mkdtemp(prefix="pw-cache-"))
        issue = tmp.parent / f"{tmp.name}.issue.txt"
        try:
            git_archive(mirrors / r["repo"].replace("/", "__"), r["base_commit"], tmp)
            issue.write_text(r["problem_statement"])
            files = [p for p in tmp.rglob("*") if p.is_file() and language_of(str(p))]
            size = sum(p.stat().st_size for p in files)
            print(f"{r['instance_id']}: {len(files)} source files, {size / 1e6:.1f} MB")
            env = {**os.environ, "PATCHWRIGHT_CACHE_DIR": str(cache_dir)}
            cmd = [sys.executable, "-m", "patchwright", "localize", str(tmp), "--issue-file", str(issue),
                   "--json", "--timings"]
            for label in ("cold", "warm", "warm"):
                t = time.perf_counter()
                res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
                wall = time.perf_counter() - t
                if res.returncode != 0:
                    print(res.stderr, file=sys.stderr)
                    return 1
                inner = json.loads(res.stdout).get("timings", {})
                walls[label].append(wall)
                inner_t[label].append(inner.get("total", float("nan")))
                print(f"  {label}: wall {wall:.2f}s; in-process index + localize {inner.get('total', float('nan')):.2f}s "
                      f"(read {inner.get('read', 0):.2f}, scan {inner.get('scan', 0):.2f}, "
                      f"files {inner.get('files', 0):.2f}, functions {inner.get('functions', 0):.2f}); "
                      f"load average {os.getloadavg()[0]:.2f}")
        finally:
            issue.unlink(missing_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(cache_dir, ignore_errors=True)
    print(f"\n{args.timing}, {k} instances (wall: process start and imports included; in-process: index + localize)")
    for label in ("cold", "warm"):
        w, i = walls[label], inner_t[label]
        print(f"  {label}: wall median {statistics.median(w):.2f}s max {max(w):.2f}s; "
              f"in-process median {statistics.median(i):.2f}s max {max(i):.2f}s")
    print("  target: cold <= 5 s, warm <= 1 s (2 cores)")
    return 0


def default_dataset(name: str = "lite-test.jsonl") -> str:
    """`../shared/swebench/NAME` beside the project; from a git worktree, beside its main checkout."""
    first = ROOT / ".." / "shared" / "swebench" / name
    if first.exists():
        return str(first)
    res = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--path-format=absolute", "--git-common-dir"],
                         capture_output=True, text=True)
    if res.returncode == 0:
        alt = Path(res.stdout.strip()).parent / ".." / "shared" / "swebench" / name
        if alt.exists():
            return str(alt)
    return str(first)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=default_dataset(),
                    help="JSONL of instances (default: ../shared/swebench/lite-test.jsonl)")
    ap.add_argument("--mirrors", required=True, help="directory of bare git mirrors named owner__name")
    ap.add_argument("--repos", help="comma-separated substrings of repository names to keep")
    ap.add_argument("--instances", help="comma-separated instance ids to keep")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--no-baseline", action="store_true", help="skip the BM25-over-functions baseline")
    ap.add_argument("--reuse-baseline", help="take baseline results from an earlier --json-out file")
    ap.add_argument("--json-out", help="write one JSON line per instance here")
    ap.add_argument("--cache-dir", help="symbol cache directory (default: the user cache)")
    ap.add_argument("--timing", metavar="REPO", help="measure cold and warm localize on instances of REPO")
    ap.add_argument("--timing-instances", type=int, default=5, help="how many instances --timing measures")
    args = ap.parse_args()
    if not Path(args.mirrors).is_dir():
        print(f"no such mirrors directory: {args.mirrors}", file=sys.stderr)
        return 2
    if not Path(args.dataset).is_file():  # `../shared/swebench/X` from a git worktree: beside the main checkout
        args.dataset = default_dataset(Path(args.dataset).name)
    if not Path(args.dataset).is_file():
        print(f"no such dataset: {args.dataset}", file=sys.stderr)
        return 2
    return timing(args) if args.timing else run(args)


if __name__ == "__main__":
    sys.exit(main())
