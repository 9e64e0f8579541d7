"""Git submodules: detection says when one is not checked out, the workspace file listing includes a
checked-out one's files, and `sandbox.submodules.checkout` fills them from local repositories."""

from __future__ import annotations

from pathlib import Path

from sandbox import git, submodules
from sandbox.environment import DirTree, GitTree, detect
from sandbox.workspace import LocalWorkspace, repo_files

ALLOW = ("-c", "protocol.file.allow=always")


def _commit(path: Path, message: str) -> str:
    git.run(path, "add", "-A", isolated=True, check=True)
    git.run(path, "-c", "commit.gpgsign=false", "commit", "-q", "-m", message, isolated=True, check=True)
    return git.run(path, "rev-parse", "HEAD", isolated=True, check=True).out


def _project(tmp_path: Path) -> tuple[Path, Path, str]:
    """A repository `data` (two commits) and a project `proj` recording data's first commit as the
    submodule tests/data (url: a github address; the clone was made from the local path)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "case.toml").write_text("a = 1\n")
    git.commit_all(data, "first")
    first = git.run(data, "rev-parse", "HEAD", check=True).out
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1"\n')
    (proj / "tests").mkdir()
    (proj / "tests" / "test_a.py").write_text("def test_a():\n    assert True\n")
    git.commit_all(proj, "base")
    git.run(proj, *ALLOW, "submodule", "add", "-q", str(data), "tests/data", isolated=True, check=True)
    git.run(proj, "config", "-f", ".gitmodules", "submodule.tests/data.url",
            "https://github.com/someone/data.git", isolated=True, check=True)
    _commit(proj, "add the data submodule")
    (data / "case.toml").write_text("a = 2\n")
    (data / "later.toml").write_text("b = 1\n")
    _commit(data, "second")
    return data, proj, first


def test_declared_reads_gitmodules():
    text = ('[submodule "tests/toml-test"]\n\tpath = tests/toml-test\n\turl = https://github.com/BurntSushi/toml-test.git\n'
            '[core]\n\tpath = nope\n[submodule "x"]\n\turl = u\n')
    assert submodules.declared(text) == [
        submodules.Submodule("tests/toml-test", "tests/toml-test", "https://github.com/BurntSushi/toml-test.git")]
    assert submodules.declared(None) == []


def test_a_submodule_not_checked_out_is_a_note(tmp_path):
    _, proj, _ = _project(tmp_path)
    clone = tmp_path / "clone"
    git.run(None, "clone", "-q", str(proj), str(clone), isolated=True, check=True)  # no --recurse-submodules
    note = "environment: git submodule tests/data is not checked out (git submodule update --init)"
    assert note in detect(DirTree(clone)).notes
    assert note in detect(GitTree(proj)).notes  # a commit's tree holds no submodule files
    assert not any("submodule" in n for n in detect(DirTree(proj)).notes)  # checked out: no note


def test_the_workspace_copies_a_checked_out_submodules_files(tmp_path):
    _, proj, _ = _project(tmp_path)
    listed = git.list_files(proj)
    assert "tests/data/case.toml" in listed and "tests/data" not in listed
    assert "tests/data/case.toml" in repo_files(proj)
    assert "tests/data/case.toml" in DirTree(proj).files
    with LocalWorkspace(proj) as ws:
        assert ws.read_file("tests/data/case.toml") == "a = 1\n"


def test_checkout_fills_submodules_at_the_recorded_commit_from_a_local_source(tmp_path):
    data, proj, first = _project(tmp_path)
    mirrors = tmp_path / "mirrors"
    mirrors.mkdir()
    git.run(None, "clone", "-q", "--mirror", str(data), str(mirrors / "someone__data"), isolated=True, check=True)
    clone = tmp_path / "clone"
    git.run(None, "clone", "-q", str(proj), str(clone), isolated=True, check=True)
    assert submodules.missing(DirTree(clone)) == ["tests/data"]
    source = submodules.github_mirror(mirrors)
    assert source("git@github.com:someone/data.git") == [mirrors / "someone__data"]
    assert source("https://github.com/other/thing") == []
    assert source("https://github.com/moved/data") == [mirrors / "someone__data"]  # the same name elsewhere
    assert submodules.checkout(clone, source) == ["tests/data"]
    assert (clone / "tests/data/case.toml").read_text() == "a = 1\n"  # the recorded commit, not the newest
    assert not (clone / "tests/data/later.toml").exists()
    assert git.run(clone / "tests/data", "rev-parse", "HEAD", check=True).out == first
    assert submodules.missing(DirTree(clone)) == []
    assert submodules.checkout(clone, source) == []  # already there
    other = tmp_path / "other"
    git.run(None, "clone", "-q", str(proj), str(other), isolated=True, check=True)
    assert submodules.checkout(other, lambda url: None) == []  # no source: left alone


def test_the_agents_environment_line_repeats_what_detection_found_lacking():
    from types import SimpleNamespace

    from agent.fix import FixRequest
    from patchwright.api import with_environment
    from sandbox.environment import Environment, Recipe

    recipe = Recipe(kind="none", notes=["not a Python project", submodules.note("tests/data")])
    ws = SimpleNamespace(environment=Environment(recipe=recipe, image="img", note="nothing to install"))
    request = with_environment(FixRequest(repo=".", issue="x", model="replay:x"), ws)
    assert request.environment == ("environment: nothing to install; git submodule tests/data is not checked out "
                                   "(git submodule update --init)")


def _bench_env():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / "env.py"
    spec = importlib.util.spec_from_file_location("bench_env", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_env_benchmark_checks_out_submodules_from_the_mirrors(tmp_path):
    data, proj, _ = _project(tmp_path)
    mirrors = tmp_path / "mirrors"
    for src, name in ((data, "someone__data"), (proj, "me__proj")):
        git.run(None, "clone", "-q", "--mirror", str(src), str(mirrors / name), isolated=True, check=True)
    bench = _bench_env()
    head = git.run(proj, "rev-parse", "HEAD", check=True).out
    dest = bench.checkout(bench.mirror_of(mirrors, "me/proj"), head, tmp_path / "work", mirrors)
    assert (dest / "tests/data/case.toml").read_text() == "a = 1\n"


def test_the_env_benchmark_compares_two_runs_without_building(tmp_path):
    import json
    import subprocess
    import sys

    a = [{"repo": "o/x", "image": True, "succeeded": True, "strict": True, "build_s": 10},
         {"repo": "o/y", "image": False, "error": "boom"}]
    b = [{"repo": "o/x", "image": True, "succeeded": False, "strict": False, "build_s": 30, "timed_out": True},
         {"repo": "o/y", "image": True, "succeeded": True, "strict": False, "build_s": 20}]
    (tmp_path / "ours.json").write_text(json.dumps(a))
    (tmp_path / "oneliner.json").write_text(json.dumps(b))
    script = Path(__file__).resolve().parents[1] / "bench" / "env.py"
    out = subprocess.run([sys.executable, str(script), "--compare", str(tmp_path / "ours.json"),
                          str(tmp_path / "oneliner.json")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1].split()[:4] == ["o/x", "yes", "no", "(cut)"] and lines[1].endswith("<- differs")
    assert lines[2].split()[:4] == ["o/y", "no", "image", "yes"]
    assert "ours: 1/2 succeed (50.0%; counting skipped tests as not passing 1/2); images built 1/2" in out.stdout
    assert "oneliner: 1/2 succeed (50.0%; counting skipped tests as not passing 0/2); images built 2/2" in out.stdout
    (tmp_path / "bad.json").write_text("{}")
    bad = subprocess.run([sys.executable, str(script), "--compare", str(tmp_path / "bad.json"),
                          str(tmp_path / "ours.json")], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "not the --json output" in bad.stderr
    alias = subprocess.run([sys.executable, str(script), "--one-liner", "--repos", "x"], capture_output=True,
                           text=True, timeout=120)
    assert alias.returncode == 2 and "--repos and --mirrors are required" in alias.stderr


def test_checkout_takes_the_source_that_holds_the_recorded_commit(tmp_path):
    data, proj, first = _project(tmp_path)
    mirrors = tmp_path / "mirrors"
    old = mirrors / "someone__data"  # the owner the URL names: its mirror lacks the commit
    old.mkdir(parents=True)
    git.run(old, "init", "-q", "--bare", isolated=True, check=True)
    git.run(None, "clone", "-q", "--mirror", str(data), str(mirrors / "neworg__data"), isolated=True, check=True)
    clone = tmp_path / "clone"
    git.run(None, "clone", "-q", str(proj), str(clone), isolated=True, check=True)
    assert submodules.checkout(clone, lambda url: [old]) == []  # no source holds it: left alone, no error
    assert submodules.checkout(clone, submodules.github_mirror(mirrors)) == ["tests/data"]
    assert git.run(clone / "tests/data", "rev-parse", "HEAD", check=True).out == first
