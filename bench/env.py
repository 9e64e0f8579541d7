"""Environments for real repositories: does `patchwright env` build an image that runs their tests?

    python bench/env.py --repos bench/env_repos.txt --mirrors DIR [--only NAME,...] [--budget 600]
                        [--jobs 1] [--baseline oneliner] [--json OUT]
    python bench/env.py --compare A.json B.json

Each line of the repos file is `owner/name commit`; DIR holds a git mirror of each (`owner__name`,
`owner+name/repo` or `owner+name`); a submodule of a checkout (github.com/OWNER/NAME) is checked out
at its recorded commit from DIR/OWNER__NAME, or another mirror of NAME that holds the commit (a
repository that moved: BurntSushi/toml-test is toml-lang/toml-test), in both modes. Per repository:
the image built (and its build time), a rebuild after a source-only change, tests collected,
collection errors, and passed/failed in a run cut off at the budget (10 minutes). A repository succeeds when the image builds, collection has no errors and at
least 95% of the collected tests pass.

`--baseline oneliner` (alias `--one-liner`) measures the anchor instead: `pip install -e
".[test,tests,testing,dev]" pytest` on the default Python, then `python -m pytest`. `--compare A.json
B.json` prints two runs' `--json` files side by side (per repository succeeded or not, and the
totals) without building anything.

Anchors (issue 14): Repo2Run (an LLM agent writing Dockerfiles) 86.0% of 420 repositories, its best
non-LLM baseline 22.1%; the one-liner 10 of 22 popular libraries. Targets: >= 85%, median build
<= 3 min, rebuild after a source-only change <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.environment import DirTree, Environment, Recipe, RecipeTests, open_environment, recipe_for  # noqa: E402
from sandbox.environment.build import EnvironmentBuildError, ensure_env_image  # noqa: E402
from sandbox.environment.check import check  # noqa: E402
from sandbox.environment.prepare import available_pythons  # noqa: E402
from sandbox.submodules import checkout as checkout_submodules  # noqa: E402
from sandbox.submodules import github_mirror  # noqa: E402

ONE_LINER = Recipe(python="3.11", requirements=["pytest"], extras=["test", "tests", "testing", "dev"],
                   test=RecipeTests(command="python -m pytest -rA -p no:cacheprovider"))


def mirror_of(mirrors: Path, repo: str) -> Path:
    owner, name = repo.split("/")
    for cand in (mirrors / f"{owner}__{name}", mirrors / f"{owner}+{name}" / "repo", mirrors / f"{owner}+{name}"):
        if cand.is_dir():
            return cand
    raise SystemExit(f"no mirror of {repo} under {mirrors}")


def checkout(mirror: Path, commit: str, dest: Path, mirrors: Path | None = None) -> Path:
    """A work tree of `commit` at `dest`, its submodules filled from the mirrors under `mirrors`."""
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(mirror), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", commit], check=True)
    if mirrors is not None:
        checkout_submodules(dest, github_mirror(mirrors))
    return dest


def source_file(tree: DirTree) -> str | None:
    """A Python source file that is not a test and not a build file (for the source-only edit)."""
    for f in tree.files:
        if f.endswith(".py") and "test" not in f and f not in ("setup.py", "noxfile.py", "conftest.py") \
                and not f.startswith(("docs/", "doc/", "examples/", ".")):
            return f
    return None


def one(repo: str, commit: str, mirrors: Path, budget: float, one_liner: bool) -> dict:
    row: dict = {"repo": repo, "commit": commit[:10]}
    with tempfile.TemporaryDirectory(prefix="pw-bench-env-") as tmp:
        path = checkout(mirror_of(mirrors, repo), commit, Path(tmp) / repo.split("/")[1], mirrors)
        tree = DirTree(path)
        if one_liner:
            recipe = ONE_LINER.model_copy(deep=True)
            recipe.dependency_files = ["pyproject.toml", "setup.py", "setup.cfg"]
            recipe.dependency_files = [f for f in recipe.dependency_files if tree.exists(f)]
        else:
            recipe = recipe_for(tree, PYTHONS_HERE)
        row.update(python=recipe.python, test=recipe.test.command if recipe.test else None)
        name = repo.split("/")[1] + ("-oneliner" if one_liner else "")
        remove_image(recipe, tree, name)  # a build from the base image up: its time is the build time
        try:
            img = ensure_env_image(recipe, tree, name)
        except EnvironmentBuildError as exc:
            row.update(image=False, error=str(exc))
            return row
        row.update(image=True, build_s=round(img.seconds, 1), missing=img.missing, install=img.install)
        src = source_file(tree)
        if src:
            (path / src).write_text((path / src).read_text() + "\n# a source-only edit\n")
        t = time.monotonic()
        again = ensure_env_image(recipe, DirTree(path), name)
        row.update(rebuild_s=round(time.monotonic() - t, 2), rebuilt=again.built, same_tag=again.tag == img.tag)
        if src:
            subprocess.run(["git", "-C", str(path), "checkout", "-q", "--", src], check=True)
        with open_environment(Environment(recipe=recipe, image=img.tag), path) as ws:
            res = check(ws, recipe, budget)
        row.update(collected=res.collected, collection_errors=res.collection_errors, passed=res.passed,
                   failed=res.failed, errors=res.errors, skipped=res.skipped, timed_out=res.timed_out,
                   test_s=res.seconds, note=res.note(), succeeded=res.succeeded,
                   strict=res.succeeded_strict)
    return row


PYTHONS_HERE: list[str] = []


def remove_image(recipe: Recipe, tree: DirTree, name: str) -> None:
    """Remove the environment image (and with it its cached layers) when it exists."""
    import docker

    from sandbox.docker_util import docker_client
    from sandbox.environment import env_tag
    from sandbox.images import ensure_base_for

    try:
        docker_client().images.remove(env_tag(recipe, tree, name, ensure_base_for(recipe.python)), force=True)
    except docker.errors.ImageNotFound:
        pass


def main() -> None:
    global PYTHONS_HERE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repos")
    ap.add_argument("--mirrors")
    ap.add_argument("--only", default="")
    ap.add_argument("--budget", type=float, default=600)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--pythons", default="", help="comma-separated Python versions to choose from "
                    "(default: those a base image can be built for here, as `patchwright env` does)")
    ap.add_argument("--baseline", choices=["oneliner"], default=None,
                    help="measure a baseline instead of patchwright env: `oneliner` (pip install -e "
                    "\".[test,tests,testing,dev]\" pytest, then python -m pytest)")
    ap.add_argument("--one-liner", dest="baseline", action="store_const", const="oneliner",
                    help="the same as --baseline oneliner")
    ap.add_argument("--json", default="")
    ap.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"),
                    help="print two runs' --json files side by side; nothing is built")
    a = ap.parse_args()
    if a.compare:
        raise SystemExit(compare(*a.compare))
    if not a.repos or not a.mirrors:
        ap.error("--repos and --mirrors are required (unless --compare)")
    a.one_liner = a.baseline == "oneliner"
    PYTHONS_HERE = a.pythons.split(",") if a.pythons else available_pythons()
    entries = []
    for line in Path(a.repos).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            repo, commit = line.split()[:2]
            if not a.only or any(o in repo for o in a.only.split(",")):
                entries.append((repo, commit))
    rows = []

    def run(entry):
        t = time.monotonic()
        try:
            r = one(*entry, Path(a.mirrors), a.budget, a.one_liner)
        except Exception as exc:  # a bench row, not a crash
            r = {"repo": entry[0], "image": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        r["total_s"] = round(time.monotonic() - t, 1)
        print(json.dumps(r), flush=True, file=sys.stderr)
        return r

    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        rows = list(pool.map(run, entries))
    report(rows, a.one_liner)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


def report(rows: list[dict], one_liner: bool) -> None:
    print(f"{'repository':<34} {'py':>5} {'image':>5} {'build':>7} {'rebuild':>7} {'coll':>6} {'cerr':>4} "
          f"{'pass':>6} {'fail':>5} {'err':>4} {'test':>6}  ok")
    for r in rows:
        if not r.get("image"):
            print(f"{r['repo']:<34} {r.get('python', ''):>5} {'no':>5}   {r.get('error', '')[:150]}")
            continue
        print(f"{r['repo']:<34} {r['python']:>5} {'yes':>5} {r['build_s']:>6.0f}s {r['rebuild_s']:>6.1f}s "
              f"{r['collected']:>6} {len(r['collection_errors']):>4} {r['passed']:>6} {r['failed']:>5} {r['errors']:>4} "
              f"{r['test_s']:>5.0f}s  {'yes' if r['succeeded'] else 'no'}{'  (cut at budget)' if r['timed_out'] else ''}"
              f"  {r['note']}")
    n = len(rows)
    ok = sum(1 for r in rows if r.get("succeeded"))
    builds = [r["build_s"] for r in rows if r.get("image")]
    rebuilds = [r["rebuild_s"] for r in rows if r.get("image")]
    what = "the one-liner" if one_liner else "patchwright env"
    strict = sum(1 for r in rows if r.get("strict"))
    print(f"\n{what}: {ok}/{n} repositories succeed ({100 * ok / max(n, 1):.1f}%; counting skipped tests as not "
          f"passing: {strict}/{n}, {100 * strict / max(n, 1):.1f}%); images built "
          f"{len(builds)}/{n}; median build {statistics.median(builds) if builds else 0:.0f} s (target <= 180 s); "
          f"median rebuild after a source-only change {statistics.median(rebuilds) if rebuilds else 0:.2f} s "
          "(target <= 5 s)")
    print("anchors: Repo2Run 86.0% (LLM), its non-LLM baseline 22.1%, the one-liner "
          "`pip install -e \".[test,tests,testing,dev]\"` + pytest: 10 of 22 popular libraries (issue 14); target >= 85%")


def _load(path: str) -> list[dict]:
    try:
        rows = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read {path}: {exc}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "repo" in r for r in rows):
        raise SystemExit(f"{path}: not the --json output of bench/env.py (a list of rows with `repo`)")
    return rows


def compare(path_a: str, path_b: str) -> int:
    """Print the two runs side by side: per repository whether it succeeded in each, then the totals."""
    a = {r["repo"]: r for r in _load(path_a)}
    b = {r["repo"]: r for r in _load(path_b)}
    names = list(a) + [r for r in b if r not in a]
    label_a, label_b = Path(path_a).stem[:14], Path(path_b).stem[:14]

    def cell(r: dict | None) -> str:
        if r is None:
            return "-"
        if not r.get("image"):
            return "no image"
        return ("yes" if r.get("succeeded") else "no") + (" (cut)" if r.get("timed_out") else "")

    print(f"{'repository':<34} {label_a:>14} {label_b:>14}")
    for name in names:
        ra, rb = a.get(name), b.get(name)
        mark = "" if bool(ra and ra.get("succeeded")) == bool(rb and rb.get("succeeded")) else "  <- differs"
        print(f"{name:<34} {cell(ra):>14} {cell(rb):>14}{mark}")
    for label, rows in ((label_a, a), (label_b, b)):
        n = len(rows)
        ok = sum(1 for r in rows.values() if r.get("succeeded"))
        strict = sum(1 for r in rows.values() if r.get("strict"))
        images = sum(1 for r in rows.values() if r.get("image"))
        builds = [r["build_s"] for r in rows.values() if r.get("image") and "build_s" in r]
        print(f"{label}: {ok}/{n} succeed ({100 * ok / max(n, 1):.1f}%; counting skipped tests as not passing "
              f"{strict}/{n}); images built {images}/{n}; median build "
              f"{statistics.median(builds) if builds else 0:.0f} s")
    return 0


if __name__ == "__main__":
    main()
