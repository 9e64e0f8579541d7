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
import math
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

from tools.retrieval import LocalizeConfig, function_definitions, rank_locations  # noqa: E402
from tools.symbols import SymbolCache, build_index, extract, language_of  # noqa: E402

ANCHORS = [  # SWE-bench Lite, the 274 function-modifying instances (LocAgent's table)
    ("BM25 over functions", 38.69, 61.68, 36.86),
    ("CodeRankEmbed (137M)", 52.55, 84.67, 58.76),
    ("SweRankEmbed-Large (7B)", 72.63, 94.16, 82.12),
    ("LocAgent + Claude 3.5", 77.74, 94.16, 77.37),
]
TARGET = "target (leave-one-repository-out): file Acc@5 >= 85, function Acc@10 >= 65"


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
    """Extract every blob of `commit` the mirror has, skipping missing ones."""
    for path, data in tree_blobs(mirror, commit, lambda p: True, env):
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def tree_blobs(mirror: Path, commit: str, want, env: dict | None = None):
    """(path, bytes) of each blob of `commit` in the bare repository `mirror` whose path `want`
    accepts (`git ls-tree` and one `git cat-file --batch`; blobs the mirror lacks are skipped)."""
    import threading

    env = env or {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    res = subprocess.run(["git", f"--git-dir={mirror}", "ls-tree", "-r", "-z", commit], capture_output=True,
                         env=env, check=True)
    entries = []
    for item in res.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if item:
            meta, path = item.split("\t", 1)
            mode, kind, oid = meta.split()
            if kind == "blob" and mode != "120000" and want(path):
                entries.append((oid, path))
    proc = subprocess.Popen(["git", f"--git-dir={mirror}", "cat-file", "--batch"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)

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
        yield path, data
    writer.join()
    proc.wait()


def tree_sources(mirror: Path, commit: str, also: set[str] = frozenset()) -> dict[str, bytes]:
    """{path: bytes} of the source files (a language the symbol index knows) of `commit`, and of the
    paths in `also`."""
    return dict(tree_blobs(mirror, commit, lambda p: p in also or language_of(p) is not None))


def patched_paths(patch: str) -> set[str]:
    """The paths a patch changes."""
    from unidiff import PatchSet

    return {pf.path for pf in PatchSet(patch)}


def gold_locations(patch: str, tree: dict[str, bytes]) -> tuple[list[str], list[tuple[str, str]]]:
    """(files the patch modifies, (path, qualname) of the functions whose existing lines it changes);
    `tree`: {path: bytes} of the base commit (at least the files the patch touches)."""
    from unidiff import PatchSet

    files: list[str] = []
    funcs: list[tuple[str, str]] = []
    for pf in PatchSet(patch):
        if pf.is_added_file or pf.source_file == "/dev/null":
            continue
        path = pf.path
        data = tree.get(path)
        if data is None:
            continue
        files.append(path)
        lang = language_of(path)
        if lang is None:
            continue
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


def baseline(tree: dict[str, bytes], issue: str, cache) -> tuple[list[str], list[tuple[str, str]]]:
    """Plain BM25 over every function (bm25s, its own English tokenizer): ranked functions, and
    files in the order of their best function."""
    import bm25s

    index = build_index(tree, cache=cache)
    chunks, keys = [], []
    for path in index.files:
        data = tree[path]
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


def checkout(mirrors: Path, r: dict) -> dict[str, bytes]:
    """{path: bytes} of an instance's base commit: its source files and the files its patch touches
    (read from the mirror without writing a work tree)."""
    return tree_sources(mirrors / r["repo"].replace("/", "__"), r["base_commit"], patched_paths(r["patch"]))


def localize_instance(r: dict, tree: dict[str, bytes], gold: tuple, cache, config=None) -> dict:
    """One instance localized: the record the report reads (ranked files and functions, gold, timings,
    each top file's signals and the scores the agent's candidate list is drawn from)."""
    gold_files, gold_funcs = gold
    loc = rank_locations(tree, r["problem_statement"], top_k=50, top_functions=50, cache=cache, config=config)
    return {"instance_id": r["instance_id"], "repo": r["repo"], "gold_files": gold_files,
            "gold_functions": [f"{p}:{q}" for p, q in gold_funcs],
            "timings": {k: round(v, 4) for k, v in loc.timings.items()},
            "files": [f.path for f in loc.files], "file_scores": [round(f.score, 5) for f in loc.files],
            "functions": [f"{f.path}:{f.name}" for f in loc.functions],
            "signals": {f.path: {k: round(v, 3) for k, v in f.signals.items()} for f in loc.files[:10]}}


def instances(args):
    """(instance, tree, gold) of each instance of the dataset with a mirror, in order; prints progress."""
    mirrors = Path(args.mirrors)
    rows = []
    for ds in args.dataset:
        got, missing = load_dataset(Path(ds), mirrors, set(args.repos.split(",")) if args.repos else None, args.limit)
        print(f"{Path(ds).name}: {len(got)} instances with a mirror ({sum(missing.values())} without: "
              f"{', '.join(f'{k} {v}' for k, v in sorted(missing.items()))})", file=sys.stderr)
        rows += [{**r, "dataset": Path(ds).name} for r in got]
    if args.instances:
        wanted = set(args.instances.split(","))
        rows = [r for r in rows if r["instance_id"] in wanted]
    for n, r in enumerate(rows, 1):
        try:
            tree = checkout(mirrors, r)
        except (subprocess.CalledProcessError, OSError) as exc:
            print(f"[{n}/{len(rows)}] {r['instance_id']}: skipped ({exc})", file=sys.stderr)
            continue
        gold = gold_locations(r["patch"], tree)
        if not gold[0]:
            print(f"[{n}/{len(rows)}] {r['instance_id']}: skipped (the patch modifies no existing file)",
                  file=sys.stderr)
            continue
        yield n, len(rows), r, tree, gold


def run(args) -> int:
    cache = open_cache(args)
    reuse = _reuse(args)
    results = []
    out_f = open(args.json_out, "w") if args.json_out else None
    for n, total, r, tree, gold in instances(args):
        rec = localize_instance(r, tree, gold, cache)
        rec["dataset"] = r["dataset"]
        if not args.no_baseline:
            if r["instance_id"] in reuse:
                rec["baseline"] = reuse[r["instance_id"]]
            else:
                t1 = time.perf_counter()
                bf, bfun = baseline(tree, r["problem_statement"], cache)
                rec["baseline"] = {"files": bf[:50], "functions": [f"{p}:{q}" for p, q in bfun[:50]],
                                   "seconds": round(time.perf_counter() - t1, 3)}
        add_shown(rec, tree, r["problem_statement"], cache)
        results.append(rec)
        if out_f:
            out_f.write(json.dumps(rec) + "\n")
            out_f.flush()
        rank = next((i + 1 for i, f in enumerate(rec["files"]) if f in rec["gold_files"]), None)
        print(f"[{n}/{total}] {r['instance_id']}: gold file rank {rank}, "
              f"localize {rec['timings']['total']:.2f}s", file=sys.stderr)
    if out_f:
        out_f.close()
    cache.close()
    for ds in dict.fromkeys(r["dataset"] for r in results):
        report([r for r in results if r["dataset"] == ds], not args.no_baseline, ds)
    return 0


SHOWN_CAPS = (10, 15)
"""The caps on the files shown to the model that the report compares (the agent's `top_files`)."""


class _TreeContext:
    """The one method of the agent's tool context that outlines need, over {path: bytes}."""

    def __init__(self, tree: dict[str, bytes], paths: list[str], cache):
        self.index = build_index({p: tree[p] for p in paths if p in tree}, cache=cache)

    def symbols(self, path: str):
        return self.index.files.get(path)


def add_shown(rec: dict, tree: dict[str, bytes], issue: str, cache) -> None:
    """What the agent's first localization prompt would show the model for this ranking, for each cap
    of `SHOWN_CAPS` (`shown10`, `shown15`: the files whose outlines fit the prompt's budget)."""
    from agent.localization import Retrieved, file_candidates
    from agent.models import Message
    from agent.nodes.localize import candidates, outline_budget
    from agent.prompting import render
    from agent.runtime import AgentConfig
    from agent.testplan import REPRO_NAME, SCRATCH_DIR

    cfg = AgentConfig()
    system = Message.system(render("system", test_command="python -m pytest", repro_name=REPRO_NAME,
                                   scratch_dir=SCRATCH_DIR))
    task = Message.user(render("task", issue=issue))
    budget = outline_budget(cfg, system, task)
    found = Retrieved(rec["files"], [], "", {"files": [{"path": p, "score": v} for p, v in
                                                      zip(rec["files"], rec["file_scores"], strict=True)]})
    ctx = _TreeContext(tree, rec["files"][: max(SHOWN_CAPS)], cache)
    for cap in SHOWN_CAPS:
        shown = file_candidates(ctx, candidates(found, cap, 1), budget)
        rec[f"shown{cap}"] = [c["path"] for c in shown]


def open_cache(args) -> SymbolCache:
    return SymbolCache(Path(args.cache_dir) / "symbols.sqlite") if args.cache_dir else SymbolCache()


def _row(name: str, recs: list[dict], key: str | None = None) -> list[str]:
    def pick(rec):
        return rec[key] if key else rec

    n = len(recs)
    sub = [r for r in recs if r["gold_functions"]]
    cells = [name, str(n), str(len(sub))]
    for k in (1, 3, 5, 10, 15):
        cells.append(_pct(sum(acc(r["gold_files"], pick(r)["files"], k) for r in sub), len(sub)))
    for k in (5, 10):
        cells.append(_pct(sum(acc(r["gold_functions"], pick(r)["functions"], k) for r in sub), len(sub)))
    for cap in SHOWN_CAPS:
        shown = [r for r in sub if f"shown{cap}" in pick(r)]
        cells.append(_pct(sum(acc(r["gold_files"], r[f"shown{cap}"], len(r[f"shown{cap}"])) for r in shown),
                          len(shown)) if shown else "-")
    if any(f"shown{SHOWN_CAPS[-1]}" in pick(r) for r in sub):
        cells.append(f"{statistics.mean(len(pick(r)[f'shown{SHOWN_CAPS[-1]}']) for r in sub):.1f}")
    else:
        cells.append("-")
    for k in (1, 5):
        cells.append(_pct(sum(acc(r["gold_files"], pick(r)["files"], k) for r in recs), n))
    cells.append(_pct(sum(acc(r["gold_functions"], pick(r)["functions"], 10) for r in recs), n))
    return cells


def _pct(a: int, n: int) -> str:
    return f"{100.0 * a / n:.2f}" if n else "-"


def report(results: list[dict], with_baseline: bool, dataset: str) -> None:
    head = ["", "n", "n_fn", "file@1", "file@3", "file@5", "file@10", "file@15", "fn@5", "fn@10",
            *[f"shown/{c}" for c in SHOWN_CAPS], f"n shown/{SHOWN_CAPS[-1]}", "all file@1", "all file@5", "all fn@10"]
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
          f"function miss); shown/N: the share whose gold files are all among the files the agent shows the "
          f"model with top_files=N (their mean count in 'n shown')")
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


# ---------------------------------------------------------------------------------------------
# leave-one-repository-out: weights chosen on the other repositories, reported on the one left out

FILE_SIGNALS = ("bm25", "title", "path", "package", "trace", "defines", "path_words", "pagerank", "message",
                "semantic")
FN_SIGNALS = ("file", "bm25", "name", "name_part", "class", "trace", "callee", "special", "message", "semantic")
SCALARS = ("non_code_penalty", "test_penalty", "function_evidence", "file_prior")
POOL_PER_SIGNAL = 100  # files kept per file signal for tuning (a file below every signal's top 100 never reaches the top 15)
FUNCTION_POOL = 40  # files whose functions tuning scores (the function stage parses 15)


def neutral_params() -> dict[str, float]:
    """A start for tuning that has seen no instance: every signal weighs 1 (the semantic ones 0)
    except BM25, which weighs 1.4 for files and 2 for functions (the one signal every file and
    function has; at 1 it is outweighed by any single mention), tests and non-code files count
    half, function evidence re-ranks files with weight 1, no factor of a function's file's score
    on its score (`file_prior` 0; the `file` signal adds it)."""
    out = {f"f:{k}": 1.0 for k in FILE_SIGNALS} | {f"g:{k}": 1.0 for k in FN_SIGNALS}
    out.update({"f:bm25": 1.4, "g:bm25": 2.0, "f:semantic": 0.0, "g:semantic": 0.0, "non_code_penalty": 0.5,
                "test_penalty": 0.5, "function_evidence": 1.0, "file_prior": 0.0})
    return out


def params_of(config: LocalizeConfig) -> dict[str, float]:
    out = {f"f:{k}": float(config.file_weights.get(k, 0.0)) for k in FILE_SIGNALS}
    out.update({f"g:{k}": float(config.function_weights.get(k, 0.0)) for k in FN_SIGNALS})
    out.update({k: float(getattr(config, k)) for k in SCALARS})
    return out


def config_of(params: dict[str, float], semantic: bool = False) -> LocalizeConfig:
    return LocalizeConfig(
        file_weights={k: round(params[f"f:{k}"], 4) for k in FILE_SIGNALS if params[f"f:{k}"]},
        function_weights={k: round(params[f"g:{k}"], 4) for k in FN_SIGNALS if params[f"g:{k}"]},
        semantic=semantic, **{k: round(params[k], 4) for k in SCALARS})


def prepare(r: dict, tree: dict[str, bytes], gold: tuple, cache, semantic: bool) -> dict:
    """The weight-independent part of localizing one instance, for tuning: each candidate file's
    signals and prior class, each candidate function's signals. The pools are wide (the best files
    of every signal, the functions of the best 40 files under the default weights) so that other
    weights mostly choose among them; weights are only chosen with this, every reported number comes
    from a real run."""
    import numpy as np

    from sandbox.testfiles import is_test_path
    from tools.corpus import Corpus
    from tools.issue_query import IssueQuery, resolve
    from tools.retrieval import (
        _prior,
        add_semantic_files,
        add_semantic_functions,
        file_signals,
        function_hits,
        fuse_files,
        is_generated,
        score_functions,
    )

    config = LocalizeConfig()
    corpus = Corpus.load(tree, cache=cache)
    lex = corpus.lex
    query = IssueQuery.parse(r["problem_statement"])
    mentions = resolve(query, corpus, lex.definers, lex.paths, lex.df)
    sig = file_signals(corpus, query, mentions, config)
    ranked = fuse_files(corpus, sig, config)
    pool = set()
    for values in sig.values():
        pool.update(sorted(values, key=lambda p: -values[p])[:POOL_PER_SIGNAL])
    fpool = ranked[:FUNCTION_POOL]
    pool.update(h.path for h in fpool)
    if semantic:
        from tools.semantic import issue_vector

        qvec = issue_vector(cache, r["problem_statement"])
        sem = {h.path: h.signals.get("semantic", 0.0) for h in add_semantic_files(corpus, qvec, list(ranked), config)
               [: config.semantic_files * 2]}
        sig["semantic"] = {p: v for p, v in sem.items() if v}
    paths = sorted(pool)
    number = {p: i for i, p in enumerate(paths)}
    F = np.zeros((len(paths), len(FILE_SIGNALS)), dtype=np.float32)
    for j, name in enumerate(FILE_SIGNALS):
        for p, v in sig.get(name, {}).items():
            if p in number:
                F[number[p], j] = v
    kind = np.array([1 if is_test_path(p) else 2 if _prior(p, config) < 1 or is_generated(p, corpus.files[p], config)
                     else 0 for p in paths], dtype=np.int8)
    hits = function_hits(corpus, query, mentions, fpool)
    if semantic:
        parsed = {f.path for f in fpool[: config.function_files]}
        # sets the signal on the best functions of the default ranking (the same objects as `hits`)
        add_semantic_functions(corpus, qvec, score_functions([h for h in hits if h.path in parsed], config), config)
    G = np.zeros((len(hits), len(FN_SIGNALS)), dtype=np.float32)
    for i, h in enumerate(hits):
        for j, name in enumerate(FN_SIGNALS):
            if name != "file":
                G[i, j] = h.signals.get(name, 0.0)
    corpus.close()
    return {"instance_id": r["instance_id"], "repo": r["repo"], "dataset": r["dataset"],
            "gold_files": gold[0], "gold_functions": [f"{p}:{q}" for p, q in gold[1]],
            "paths": paths, "F": F, "kind": kind, "fn_keys": [f"{h.path}:{h.name}" for h in hits],
            "fn_file": np.array([number[h.path] for h in hits], dtype=np.int32), "G": G}


def evaluate(prep: dict, params: dict[str, float], function_files: int = 15) -> tuple[float, float]:
    """(rank of the last gold file, rank of the last gold function) under `params`, on the pools of
    `prepare`: the fusion of `tools.retrieval` (weighted sum times prior; functions of the best 15
    files with BM25 rescaled among them, times their file's prior; files re-ranked by their best
    function's BM25 and trace, times the file's prior)."""
    import numpy as np

    wf = np.array([params[f"f:{k}"] for k in FILE_SIGNALS], dtype=np.float32)
    wg = np.array([params[f"g:{k}"] for k in FN_SIGNALS], dtype=np.float32)
    prior = np.where(prep["kind"] == 1, params["test_penalty"],
                     np.where(prep["kind"] == 2, params["non_code_penalty"], 1.0)).astype(np.float32)
    score = (prep["F"] @ wf) * prior
    order = np.lexsort((np.arange(len(score)), -score))
    head = order[:function_files]
    top = score[head[0]] if len(head) and score[head[0]] > 0 else 1.0
    in_head = np.zeros(len(score), dtype=bool)
    in_head[head] = True
    G, fn_file = prep["G"], prep["fn_file"]
    sel = np.flatnonzero(in_head[fn_file]) if len(fn_file) else np.zeros(0, dtype=np.int64)
    fn_rank = math.inf
    new = score / top
    if len(sel):
        g = G[sel].copy()
        bm_max = g[:, 1].max()
        if bm_max > 0:
            g[:, 1] /= bm_max
        g[:, 0] = score[fn_file[sel]] / top
        fscore = g @ wg
        if params["file_prior"]:
            fscore = fscore * np.maximum(g[:, 0], 0.0) ** params["file_prior"]
        fscore = fscore * prior[fn_file[sel]]
        forder = sel[np.lexsort((np.arange(len(sel)), -fscore))]
        rank_of = {prep["fn_keys"][i]: k + 1 for k, i in enumerate(forder)}
        golds = prep["gold_functions"]
        if golds:
            fn_rank = max(rank_of.get(gk, math.inf) for gk in golds)
        if params["function_evidence"] > 0:
            evid = wg[1] * g[:, 1] + wg[5] * g[:, 5]
            best = np.zeros(len(score), dtype=np.float32)
            np.maximum.at(best, fn_file[sel], evid)
            top_e = best.max()
            if top_e > 0:
                new = new.copy()
                new[head] += params["function_evidence"] * best[head] / top_e * prior[head]
    head_sorted = head[np.lexsort((np.arange(len(head)), -new[head]))]
    final = list(head_sorted) + list(order[function_files:])
    pos = {prep["paths"][i]: k + 1 for k, i in enumerate(final)}
    file_rank = max(pos.get(p, math.inf) for p in prep["gold_files"])
    return file_rank, fn_rank


def objective(preps: list[dict], params: dict[str, float]) -> float:
    """What tuning maximises on the function-modifying instances: file Acc@5 + function Acc@10, with
    a little of Acc@1, @3, @10 and function Acc@5, @20 to break ties."""
    total = 0.0
    n = 0
    for p in preps:
        if not p["gold_functions"]:
            continue
        fr, gr = evaluate(p, params)
        total += (fr <= 5) + (gr <= 10) + 0.1 * ((fr <= 1) + (fr <= 3) + (fr <= 10) + (gr <= 5) + (gr <= 20)) / 5
        n += 1
    return total / max(n, 1)


MIN_GAIN = 2.0
"""Instances of the objective a coordinate step must gain to be taken (`--cv-min-gain`)."""


def tune(preps: list[dict], start: dict[str, float], names: list[str], sweeps: int = 6,
         min_gain: float = MIN_GAIN) -> dict[str, float]:
    """Coordinate ascent from `start`: each parameter in turn tries a few multiples of its value
    (or a few values when it is 0) and keeps the best; up to `sweeps` rounds, until none helps. A
    move must gain at least `min_gain` instances' worth of the objective: smaller gains, on a few
    dozen instances of other repositories, are mostly noise that the held-out repository pays for."""
    cur = dict(start)
    best = objective(preps, cur)
    min_gain = min_gain / max(1, sum(1 for p in preps if p["gold_functions"]))
    for _ in range(sweeps):
        moved = False
        for name in names:
            v = cur[name]
            tries = [0.1, 0.25, 0.5, 1.0] if v == 0 else [0.0, v * 0.5, v * 0.7, v * 1.4, v * 2.0]
            if name in ("non_code_penalty", "test_penalty"):
                tries = [min(t, 1.0) for t in tries if t > 0]
            for t in tries:
                cand = {**cur, name: t}
                o = objective(preps, cand)
                if o > best + min_gain:
                    best, cur, moved = o, cand, True
        if not moved:
            break
    return cur


def cross_validate(args) -> int:
    """`--cv repo`: prepare every instance once; for each repository, choose weights on the others
    (coordinate ascent from the defaults) and run `localize` with them on the one left out. Prints
    the held-out table per dataset, beside the in-sample one (the defaults, chosen on all of them)
    and plain BM25."""
    import pickle

    cache = open_cache(args)
    prep_path = Path(args.prep_cache) if args.prep_cache else None
    preps: dict[str, dict] = {}
    if prep_path and prep_path.exists():
        preps = pickle.loads(prep_path.read_bytes())
    rows: dict[str, tuple] = {}
    insample: list[dict] = []
    reuse = _reuse(args)
    for n, total, r, tree, gold in instances(args):
        rows[r["instance_id"]] = (r, gold)
        if r["instance_id"] not in preps:
            preps[r["instance_id"]] = prepare(r, tree, gold, cache, args.semantic)
        rec = localize_instance(r, tree, gold, cache, config_of(params_of(LocalizeConfig()), args.semantic))
        rec["dataset"] = r["dataset"]
        if r["instance_id"] in reuse:
            rec["baseline"] = reuse[r["instance_id"]]
        add_shown(rec, tree, r["problem_statement"], cache)
        insample.append(rec)
        print(f"[{n}/{total}] {r['instance_id']}: prepared", file=sys.stderr)
    if prep_path:
        prep_path.write_bytes(pickle.dumps(preps))
    use = [preps[i] for i in rows]
    agree = sum(_hits(evaluate(p, params_of(LocalizeConfig()))) == _hits(_ranks(r))
                for p, r in zip(use, insample, strict=True))
    print(f"tuning's fast evaluation agrees with the real run (file@5 and fn@10, default weights) on {agree} of "
          f"{len(use)} instances", file=sys.stderr)
    variants = [("lexical", False)] + ([("lexical + semantic", True)] if args.semantic else [])
    held: dict[str, list[dict]] = {}
    mirrors = Path(args.mirrors)
    out_f = open(args.json_out, "w") if args.json_out else None
    for label, semantic in variants:
        start = neutral_params() if args.cv_start == "neutral" else params_of(LocalizeConfig())
        start.update({"f:semantic": 0.0, "g:semantic": 0.0})
        names = [k for k in start if semantic or "semantic" not in k]
        held[label] = []
        for ds, repo in sorted({(p["dataset"], p["repo"]) for p in use}):
            train = [p for p in use if p["repo"] != repo and (args.cv_pool or p["dataset"] == ds)]
            params = tune(train, start, names, min_gain=args.cv_min_gain)
            changed = {k: round(v, 3) for k, v in params.items() if abs(v - start[k]) > 1e-9}
            print(f"{label}, fold {repo}: chosen on {len(train)} instances of the other repositories; "
                  f"changed {changed}", file=sys.stderr)
            cfg = config_of(params, semantic)
            for p in [p for p in use if p["repo"] == repo and p["dataset"] == ds]:
                r, gold = rows[p["instance_id"]]
                tree = checkout(mirrors, r)
                rec = localize_instance(r, tree, gold, cache, cfg)
                rec["dataset"] = r["dataset"]
                add_shown(rec, tree, r["problem_statement"], cache)
                if r["instance_id"] in reuse:
                    rec["baseline"] = reuse[r["instance_id"]]
                held[label].append(rec)
                if out_f:
                    out_f.write(json.dumps({**rec, "cv": f"held-out {label}"}) + "\n")
                    out_f.flush()
        on_all = tune(use, start, names, min_gain=args.cv_min_gain)
        print(f"\n{label}: weights chosen on all instances of all datasets (in-sample):")
        print("  " + json.dumps({k: round(v, 3) for k, v in on_all.items() if abs(v - start[k]) > 1e-9}))
    cache.close()
    if out_f:
        for rec in insample:
            out_f.write(json.dumps({**rec, "cv": "in-sample"}) + "\n")
        out_f.close()
    for ds in dict.fromkeys(r["dataset"] for r in insample):
        for label, _ in variants:
            pool = "of every dataset given" if args.cv_pool else f"of {ds}"
            print(f"\n=== {ds}: HELD OUT, {label} (leave-one-repository-out: weights chosen on the other "
                  f"repositories {pool}; the headline number)")
            report([r for r in held[label] if r["dataset"] == ds], bool(reuse), ds)
        print(f"\n=== {ds}: IN-SAMPLE (the default weights, which were chosen on these same instances)")
        report([r for r in insample if r["dataset"] == ds], bool(reuse), ds)
    return 0


def _ranks(rec: dict) -> tuple[float, float]:
    """(rank of the last gold file, of the last gold function) in a localize record."""
    def worst(gold, ranked):
        pos = {x: i + 1 for i, x in enumerate(ranked)}
        return max((pos.get(g, math.inf) for g in gold), default=math.inf)

    return worst(rec["gold_files"], rec["files"]), worst(rec["gold_functions"], rec["functions"])


def _hits(ranks: tuple[float, float]) -> tuple[bool, bool]:
    return ranks[0] <= 5, ranks[1] <= 10


def _reuse(args) -> dict:
    out = {}
    for path in args.reuse_baseline or []:
        if Path(path).exists():
            for line in Path(path).read_text().splitlines():
                rec = json.loads(line)
                if "baseline" in rec:
                    out[rec["instance_id"]] = rec["baseline"]
    return out


def timing(args) -> int:
    """Cold and warm `patchwright localize` on several instances of one repository, each run in a
    fresh process. Cold: an empty symbol cache. Warm: the cache the cold run filled, same commit.
    Reports the wall time of the process (start and imports included) and the in-process index +
    localize time `localize` measures, per instance and as median and maximum."""
    mirrors = Path(args.mirrors)
    rows, _ = load_dataset(Path(args.dataset[0]), mirrors, {args.timing}, None)
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
            env = {**os.environ, "PATCHWRIGHT_CACHE_DIR": str(cache_dir),
                   "PATCHWRIGHT_EMBEDDINGS": "1" if args.semantic else "0"}
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
                      f"files {inner.get('files', 0):.2f}, functions {inner.get('functions', 0):.2f}"
                      + (f", semantic {inner['semantic']:.2f}" if "semantic" in inner else "") + "); "
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
    if args.semantic:
        semantic_index_time(mirrors, picked[0], args.semantic_sample)
    return 0


def semantic_index_time(mirrors: Path, r: dict, sample: int) -> None:
    """What embedding a whole repository would cost (the semantic stage embeds only its candidates,
    lazily): the texts of every source file and every function of one checkout counted in tokens,
    `sample` of each kind embedded and timed, the whole extrapolated by tokens (0: embed them all)."""
    import random

    from sandbox.testfiles import is_test_path
    from tools.corpus import Corpus
    from tools.embed import default_encoder
    from tools.retrieval import function_definitions
    from tools.semantic import FILE_TOKENS, FUNCTION_TOKENS, file_text, function_text

    tree = checkout(mirrors, r)
    enc = default_encoder()
    with Corpus.load(tree, cache=False) as corpus:
        paths = [p for p in corpus.files if not is_test_path(p)]
        symbols = corpus.symbols(paths)
        files = [file_text(p, symbols.files[p].definitions if p in symbols.files else [], corpus.files[p])
                 for p in paths]
        funcs = [function_text(p, d, corpus.files[p]) for p in paths for d in function_definitions(symbols, p)]
    print(f"\nsemantic index of {r['instance_id']} (files not under tests): {len(files)} files, "
          f"{len(funcs)} functions; load average {os.getloadavg()[0]:.2f}")
    for kind, texts, limit in (("files", files, FILE_TOKENS), ("functions", funcs, FUNCTION_TOKENS)):
        tokens = sum(len(t) for t in enc.tokenize(texts, limit))
        part = texts if not sample or sample >= len(texts) else random.Random(0).sample(texts, sample)
        part_tokens = sum(len(t) for t in enc.tokenize(part, limit))
        t = time.perf_counter()
        enc.encode(part, limit)
        dt = time.perf_counter() - t
        what = "measured" if part is texts else f"extrapolated from {len(part)} ({part_tokens} tokens) in {dt:.1f}s"
        print(f"  {kind}: {tokens} tokens, {part_tokens / dt:.0f} tokens/s -> {tokens * dt / part_tokens:.0f}s "
              f"({what})")


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
    ap.add_argument("--dataset", action="append",
                    help="JSONL of instances; repeat for several (default: ../shared/swebench/lite-test.jsonl)")
    ap.add_argument("--mirrors", required=True, help="directory of bare git mirrors named owner__name")
    ap.add_argument("--repos", help="comma-separated substrings of repository names to keep")
    ap.add_argument("--instances", help="comma-separated instance ids to keep")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--no-baseline", action="store_true", help="skip the BM25-over-functions baseline")
    ap.add_argument("--reuse-baseline", action="append",
                    help="take baseline results from an earlier --json-out file (repeatable)")
    ap.add_argument("--json-out", help="write one JSON line per instance here")
    ap.add_argument("--cache-dir", help="symbol cache directory (default: the user cache)")
    ap.add_argument("--cv", choices=["repo"], help="leave-one-repository-out: weights chosen on the other "
                    "repositories of the datasets, reported on the one left out (the baseline comes from "
                    "--reuse-baseline only)")
    ap.add_argument("--cv-pool", action="store_true",
                    help="with --cv: choose each fold's weights on the other repositories of every dataset given "
                         "(default: of the held-out repository's own dataset)")
    ap.add_argument("--cv-start", choices=["neutral", "defaults"], default="neutral",
                    help="with --cv: where tuning starts: every weight 1 (default; it has seen no instance) or "
                         "LocalizeConfig's defaults (which were chosen on Lite, the held-out repository included)")
    ap.add_argument("--cv-min-gain", type=float, default=MIN_GAIN,
                    help="with --cv: instances of the objective (file Acc@5 + function Acc@10) a tuning step must "
                         f"gain to be taken (default {MIN_GAIN:g})")
    ap.add_argument("--prep-cache", help="with --cv: keep the prepared signals in this file (reused when present)")
    ap.add_argument("--semantic", action="store_true", help="add the semantic signal (needs the embeddings extra)")
    ap.add_argument("--timing", metavar="REPO", help="measure cold and warm localize on instances of REPO")
    ap.add_argument("--timing-instances", type=int, default=5, help="how many instances --timing measures")
    ap.add_argument("--semantic-sample", type=int, default=200,
                    help="with --timing and --semantic: texts of each kind embedded to time a whole-repository "
                         "semantic index (0: all of them)")
    args = ap.parse_args()
    if args.cv_min_gain < 0:
        print(f"--cv-min-gain must be 0 or more, not {args.cv_min_gain:g}", file=sys.stderr)
        return 2
    if not Path(args.mirrors).is_dir():
        print(f"no such mirrors directory: {args.mirrors}", file=sys.stderr)
        return 2
    datasets = []
    for ds in args.dataset or [default_dataset()]:
        if not Path(ds).is_file():  # `../shared/swebench/X` from a git worktree: beside the main checkout
            ds = default_dataset(Path(ds).name)
        if not Path(ds).is_file():
            print(f"no such dataset: {ds}", file=sys.stderr)
            return 2
        datasets.append(ds)
    args.dataset = datasets
    if args.semantic:
        from tools.semantic import available

        if not available():
            print("--semantic: the embeddings extra or its model is not installed (see docs/localization.md)",
                  file=sys.stderr)
            return 2
    if args.timing:
        return timing(args)
    return cross_validate(args) if args.cv else run(args)


if __name__ == "__main__":
    sys.exit(main())
