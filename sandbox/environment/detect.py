"""Detection: a repository tree -> a `Recipe` (Python version, dependencies, test command).

Pure functions over a `Tree`: nothing from the repository is run, files are parsed (TOML, INI,
YAML, and Python with `ast` for setup.py and noxfile.py). Every decision is recorded as a `Fact`
naming the file and key it came from. `[tool.patchwright]` / `.patchwright.yml` are applied last
(config.py) and win over what is detected here.
"""

from __future__ import annotations

import ast
import posixpath
import re
import sys
import tomllib

import yaml

from .. import submodules
from ..testfiles import pytest_table
from . import pyversion
from .recipe import Fact, Recipe, RecipeTests
from .reqs import (
    ALSO_PROVIDED_BY,
    FIXTURE_PLUGINS,
    IMPORT_DISTS,
    INI_PLUGINS,
    MARKER_PLUGINS,
    RequirementFile,
    addopts_words,
    canon,
    plugin_for_module,
    plugin_for_option,
    poetry_requirement,
    pytest_before,
    req_name,
    warnings_are_errors,
)
from .tree import Tree

PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
"""Python versions detection chooses from when the caller names none."""
TEST_NAMES = ("test", "tests", "testing", "test-requirements", "tests-requirements")
DEV_NAMES = ("dev", "develop", "development", "devel", "dev-requirements")
_TEST_FILE = re.compile(r"(^|/)(test_[^/]*|[^/]*_test|tests?)\.py$")
_COMPILED = (".c", ".cc", ".cpp", ".pyx", ".pxd")


def _pick(names, label: str = "") -> list[str]:
    """Of extras/groups named `names`: the test ones, else the dev ones."""
    names = list(names)
    test = [n for n in names if canon(n) in TEST_NAMES]
    return test or [n for n in names if canon(n) in DEV_NAMES]


class _Detector:
    def __init__(self, tree: Tree, pythons: list[str]):
        self.tree = tree
        self.pythons = pythons
        self.r = Recipe()
        self.req_names: dict[str, str] = {}  # canonical name -> source
        self.req_markers: dict[str, set[str]] = {}  # canonical name -> the markers its lines have ("" none)
        self.dep_files: set[str] = set()
        self.pyproject = self._toml("pyproject.toml")
        self.setup_cfg = self._ini("setup.cfg")
        self.setup_py = tree.read("setup.py")
        self.tox_ini = self._ini("tox.ini")
        self.self_name = canon(str(self.pyproject.get("project", {}).get("name")
                                   or self.pyproject.get("tool", {}).get("poetry", {}).get("name")
                                   or self.setup_cfg.get("metadata", "name", fallback="")
                                   or self._setup_kw("name") or ""))

    # -- reading -----------------------------------------------------------------------------

    def _toml(self, path: str) -> dict:
        text = self.tree.read(path)
        if text is None:
            return {}
        self.dep_files.add(path)
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self.r.notes.append(f"{path} is not valid TOML ({exc}); ignored")
            return {}

    def _ini(self, path: str):
        text = self.tree.read(path)
        if text is not None:
            self.dep_files.add(path)
        return pyversion.read_ini(text)

    def _setup_kw(self, name: str):
        """A keyword argument of setup() in setup.py when it is a literal (or a module-level literal name)."""
        if not self.setup_py:
            return None
        if not hasattr(self, "_setup_args"):
            self._setup_args = _setup_call_args(self.setup_py)
        return self._setup_args.get(name)

    def fact(self, what: str, value: str, source: str) -> None:
        self.r.facts.append(Fact(what=what, value=value, source=source))

    def add_req(self, req: str, source: str) -> None:
        req = req.strip()
        name = req_name(req)
        if not req or (name and name == self.self_name):
            extras = re.match(r"[^\[;]*\[([^\]]*)\]", req)
            if name and extras:
                for e in extras.group(1).split(","):
                    self.add_extra(e.strip(), source)
            return
        marker = req.split(";", 1)[1].strip() if ";" in req else ""
        # one requirement per name, except lines of one name under different markers: boltons' dev
        # group says pytest>=7,<8 before 3.8 and pytest>=8 from 3.8 on (keeping the first installed none)
        seen = self.req_markers
        if name and name in self.req_names and not req.startswith("-"):
            if "" in seen.get(name, ()) or marker in seen.get(name, ()):
                return
        if name:
            self.req_names.setdefault(name, source)
            seen.setdefault(name, set()).add(marker)
        self.r.requirements.append(req)
        self.fact("requirement", req, source)

    def add_extra(self, extra: str, source: str) -> None:
        if extra and extra not in self.r.extras:
            self.r.extras.append(extra)
            self.fact("extra", extra, source)
            for req in self.extras_available().get(extra, []):
                self.add_req(req, f"{source} -> extra {extra}")

    # -- the project ---------------------------------------------------------------------------

    def extras_available(self) -> dict[str, list[str]]:
        if hasattr(self, "_extras"):
            return self._extras
        out: dict[str, list[str]] = {}
        project = self.pyproject.get("project", {})
        for k, v in (project.get("optional-dependencies") or {}).items():
            out[k] = list(v)
        poetry = self.pyproject.get("tool", {}).get("poetry", {})
        deps = poetry.get("dependencies", {})
        for k, names in (poetry.get("extras") or {}).items():
            out.setdefault(k, [r for n in names if (r := poetry_requirement(n, deps.get(n, "*")))])
        if self.setup_cfg.has_section("options.extras_require"):
            for k, v in self.setup_cfg.items("options.extras_require"):
                out.setdefault(k, _lines(v))
        setup_extras = self._setup_kw("extras_require")
        if isinstance(setup_extras, dict):
            for k, v in setup_extras.items():
                out.setdefault(str(k), [v] if isinstance(v, str) else [str(x) for x in v or []])
        self._extras = out
        return out

    def project(self) -> None:
        pp = self.pyproject
        build = pp.get("build-system", {})
        installable = bool(build or pp.get("project") or self.setup_py is not None
                           or self.setup_cfg.has_section("metadata"))
        self.r.project = installable
        if not installable:
            return
        backend = build.get("build-backend", "setuptools (setup.py)" if self.setup_py else "setuptools")
        self.fact("backend", backend, "pyproject.toml [build-system]" if build else "setup.py")
        project = pp.get("project", {})
        if "dependencies" in project:
            for req in project["dependencies"]:
                self.add_req(req, "pyproject.toml [project] dependencies")
        poetry = pp.get("tool", {}).get("poetry", {})
        for name, spec in (poetry.get("dependencies") or {}).items():
            if isinstance(spec, dict) and spec.get("optional"):
                continue
            req = poetry_requirement(name, spec)
            if req:
                self.add_req(req, "pyproject.toml [tool.poetry.dependencies]")
        if self.setup_cfg.has_option("options", "install_requires"):
            for req in _lines(self.setup_cfg.get("options", "install_requires")):
                self.add_req(req, "setup.cfg [options] install_requires")
        reqs = self._setup_kw("install_requires")
        if isinstance(reqs, (list, tuple)):
            for req in reqs:
                self.add_req(str(req), "setup.py install_requires")
        for extra in _pick(self.extras_available()):
            self.add_extra(extra, "extras")
        tests_require = self._setup_kw("tests_require")
        if isinstance(tests_require, (list, tuple)):
            for req in tests_require:
                self.add_req(str(req), "setup.py tests_require")
        if self.setup_cfg.has_option("options", "tests_require"):
            for req in _lines(self.setup_cfg.get("options", "tests_require")):
                self.add_req(req, "setup.cfg [options] tests_require")
        compiled = self._compiled(build)
        if compiled:
            self.r.apt_packages += [p for p in ("gcc", "g++", "make") if p not in self.r.apt_packages]
            self.fact("apt", "gcc g++ make", compiled)

    def cython_sources(self) -> None:
        """C sources setup.py names that the repository does not hold but a .pyx beside them would make."""
        for c in sorted(set(re.findall(r"['\"]([\w/.-]+)\.c['\"]", self.setup_py or ""))):
            pyx = c + ".pyx"
            if not self.tree.exists(c + ".c") and self.tree.exists(pyx):
                if "cython" not in self.req_names:
                    self.add_req("Cython", f"setup.py builds {c}.c from {pyx}")
                self.r.prepare.append(f"python -m cython {pyx}")
                self.fact("prepare", f"python -m cython {pyx}", f"setup.py names {c}.c, the repository has {pyx}")

    def locks(self) -> None:
        """Versions a lock file pins (each package at one version), used as constraints."""
        for path in ("uv.lock", "poetry.lock", "pdm.lock"):
            text = self.tree.read(path)
            if text is None:
                continue
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                continue
            versions: dict[str, set[str]] = {}
            for pkg in data.get("package", []):
                if isinstance(pkg, dict) and pkg.get("name") and pkg.get("version"):
                    source = pkg.get("source", {})
                    if isinstance(source, dict) and any(k in source for k in ("editable", "virtual", "directory", "git")):
                        continue
                    versions.setdefault(canon(pkg["name"]), set()).add(str(pkg["version"]))
            pins = [f"{n}=={next(iter(v))}" for n, v in sorted(versions.items()) if len(v) == 1 and n != self.self_name]
            if pins:
                self.r.constraints = pins
                self.dep_files.add(path)
                self.fact("constraints", f"{len(pins)} pinned versions", path)
            return

    def _compiled(self, build: dict) -> str | None:
        """Why the project builds C code, or None."""
        requires = " ".join(build.get("requires", []))
        if re.search(r"\b(cython|pybind11|cffi|scikit-build|meson-python|setuptools-rust|maturin)\b", requires, re.I):
            return "pyproject.toml [build-system] requires " + requires[:80]
        if self.setup_py and re.search(r"\bExtension\s*\(|ext_modules|cythonize|build_ext", self.setup_py):
            return "setup.py declares C extensions"
        if any(f.endswith(_COMPILED) and not f.startswith(("tests/", "test/", "docs/")) for f in self.tree.files):
            return "C sources in the repository"
        return None

    # -- test dependencies named elsewhere ----------------------------------------------------

    def dependency_groups(self) -> None:
        groups = self.pyproject.get("dependency-groups") or {}
        for name in _pick(groups):
            for req in self._group(groups, name, set()):
                self.add_req(req, f"pyproject.toml [dependency-groups] {name}")

    def _group(self, groups: dict, name: str, seen: set[str]) -> list[str]:
        if name in seen:
            return []
        seen.add(name)
        out = []
        for item in groups.get(name, []):
            if isinstance(item, dict) and "include-group" in item:
                out += self._group(groups, item["include-group"], seen)
            elif isinstance(item, str):
                out.append(item)
        return out

    def poetry_groups(self) -> None:
        poetry = self.pyproject.get("tool", {}).get("poetry", {})
        groups = {k: (v or {}).get("dependencies", {}) for k, v in (poetry.get("group") or {}).items()}
        if poetry.get("dev-dependencies"):
            groups.setdefault("dev", {}).update(poetry["dev-dependencies"])
        for name in _pick(groups):
            for dep, spec in groups[name].items():
                req = poetry_requirement(dep, spec)
                if req:
                    self.add_req(req, f"pyproject.toml [tool.poetry.group.{name}]")

    def requirement_files(self) -> None:
        candidates = [f for f in self.tree.files if f.endswith((".txt", ".in")) and _is_req_file(f)]
        if any(f.endswith(".txt") for f in candidates):
            candidates = [f for f in candidates if f.endswith(".txt")]
        test = [f for f in candidates if _req_kind(f) == "test"]
        chosen = test or [f for f in candidates if _req_kind(f) == "dev"]
        if "requirements.txt" in candidates and "requirements.txt" not in chosen:
            chosen.insert(0, "requirements.txt")
        for path in chosen:
            rf = RequirementFile(self.tree, path)
            self.dep_files.update(rf.files)
            for line in rf.lines:
                self.add_req(line, path)
            for extra in rf.extras:
                self.add_extra(extra, path)
            for line in rf.skipped:
                self.r.notes.append(f"{path}: `{line}` (a local path) is not installed")

    def tox(self) -> None:
        cp = self.tox_ini
        legacy = self.pyproject.get("tool", {}).get("tox", {}).get("legacy_tox_ini")
        if not cp.sections() and legacy:
            cp = pyversion.read_ini(legacy)
        sections = [s for s in cp.sections() if s == "testenv" or re.fullmatch(r"testenv:(tests?|unit\S*)", s)]
        for section in sections[:3]:
            src = f"tox.ini [{section}]"
            for line in _lines(cp.get(section, "deps", fallback="")):
                if re.match(r"^[\w{},.!-]+:\s", line):  # a factor-conditional line
                    continue
                line = line.replace("{toxinidir}/", "").replace("{toxinidir}", ".")
                if "{" in line:  # another section's value or a substitution tox resolves
                    continue
                if line.startswith("-r"):
                    rf = RequirementFile(self.tree, line[2:].strip())
                    self.dep_files.update(rf.files)
                    for req in rf.lines:
                        self.add_req(req, f"{src} deps {line}")
                    for extra in rf.extras:
                        self.add_extra(extra, src)
                elif not line.startswith("-"):
                    self.add_req(line, f"{src} deps")
            for extra in re.split(r"[\s,]+", cp.get(section, "extras", fallback="")):
                if extra and ":" not in extra and extra in self.extras_available():
                    self.add_extra(extra, f"{src} extras")
            groups = self.pyproject.get("dependency-groups") or {}
            for group in re.split(r"[\s,]+", cp.get(section, "dependency_groups", fallback="")):
                if group in groups:
                    for req in self._group(groups, group, set()):
                        self.add_req(req, f"{src} dependency_groups")
        env = self.pyproject.get("tool", {}).get("tox", {}).get("env_run_base", {})
        for req in env.get("deps", []) or []:
            if isinstance(req, str) and not req.startswith("-"):
                self.add_req(req, "pyproject.toml [tool.tox.env_run_base] deps")
        for extra in env.get("extras", []) or []:
            self.add_extra(extra, "pyproject.toml [tool.tox.env_run_base] extras")

    def nox(self) -> None:
        text = self.tree.read("noxfile.py")
        if text is None:
            return
        self.dep_files.add("noxfile.py")
        for session, args in _nox_installs(text):
            if not re.search(r"test", session):
                continue
            src = f"noxfile.py {session}()"
            it = iter(args)
            for a in it:
                if a in ("-r", "--requirement"):
                    path = next(it, "")
                    rf = RequirementFile(self.tree, path)
                    self.dep_files.update(rf.files)
                    for req in rf.lines:
                        self.add_req(req, src)
                    continue
                m = re.fullmatch(r"\.(?:\[([^\]]*)\])?", a.replace("-e", "").strip())
                if m:
                    for e in (m.group(1) or "").split(","):
                        if e.strip():
                            self.add_extra(e.strip(), src)
                elif a.startswith("--group="):
                    groups = self.pyproject.get("dependency-groups") or {}
                    for req in self._group(groups, a.split("=", 1)[1], set()):
                        self.add_req(req, src)
                elif not a.startswith("-"):
                    self.add_req(a, src)

    def pipfile(self) -> None:
        pip = self._toml("Pipfile")
        for section in ("packages", "dev-packages"):
            for name, spec in (pip.get(section) or {}).items():
                if isinstance(spec, dict):
                    if any(k in spec for k in ("git", "path", "file")):
                        continue
                    spec = spec.get("version", "*")
                req = name if spec in ("*", "") else f"{name}{spec}"
                self.add_req(req, f"Pipfile [{section}]")

    # -- tests ------------------------------------------------------------------------------------

    def _provided(self, name: str) -> bool:
        """Whether a plugin the project requires already provides the fixture or marker `name`."""
        return any(req_name(p) in self.req_names for p in ALSO_PROVIDED_BY.get(name, ()))

    def pytest_config(self) -> tuple[dict, str] | None:
        """pytest's ini options and where they are (the first file pytest itself would read)."""
        for path in ("pytest.ini", ".pytest.ini"):
            cp = self._ini(path) if self.tree.exists(path) else None
            if cp is not None and cp.has_section("pytest"):
                return dict(cp.items("pytest")), path
        if "pytest" in self.pyproject.get("tool", {}):
            return pytest_table(self.pyproject) or {}, "pyproject.toml [tool.pytest]"
        if self.tox_ini.has_section("pytest"):
            return dict(self.tox_ini.items("pytest")), "tox.ini [pytest]"
        if self.setup_cfg.has_section("tool:pytest"):
            return dict(self.setup_cfg.items("tool:pytest")), "setup.cfg [tool:pytest]"
        return None

    def tests(self) -> None:
        files = self.tree.files
        test_files = [f for f in files if _TEST_FILE.search(f) and "/site-packages/" not in f]
        conftests = [f for f in files if posixpath.basename(f) == "conftest.py"]
        config = self.pytest_config()
        runner = self._runner_command()
        texts = {f: self.tree.read(f) or "" for f in (conftests + test_files)[:400]}
        uses_pytest = (config is not None or bool(conftests) or "pytest" in self.req_names
                       or (runner and "pytest" in runner[0])
                       or any(re.search(r"^\s*(import pytest|from pytest|from _pytest)|^(async )?def test", t, re.M)
                              for t in texts.values()))
        if not test_files and not conftests and not runner:
            self.r.notes.append("no test files found")
            return
        if uses_pytest:
            self.pytest_plan(config, runner, texts)
        else:
            self.unittest_plan(runner, test_files)
        self.imports(texts)

    def _runner_command(self) -> tuple[str, str] | None:
        """The test line of tox, nox or a Makefile: (command, source)."""
        cp = self.tox_ini
        for section in [s for s in cp.sections() if s == "testenv" or s.startswith("testenv:py")][:1]:
            for line in _lines(cp.get(section, "commands", fallback="")):
                if re.search(r"\b(pytest|py\.test|unittest|trial)\b", line):
                    return line, f"tox.ini [{section}] commands"
        text = self.tree.read("noxfile.py")
        if text:
            for session, args in _nox_runs(text):
                if "test" in session and args and re.search(r"pytest|unittest", " ".join(args[:3])):
                    return " ".join(args), f"noxfile.py {session}()"
        mk = self.tree.read("Makefile")
        if mk:
            m = re.search(r"^tests?:.*\n((?:\t.*\n?)+)", mk, re.M)
            if m:
                for line in m.group(1).splitlines():
                    if re.search(r"\b(pytest|py\.test|unittest)\b", line):
                        return line.strip().lstrip("@-"), "Makefile test"
        return None

    def pytest_plan(self, config, runner, texts: dict[str, str]) -> None:
        if "pytest" not in self.req_names:
            self.add_req("pytest", "the tests use pytest")
        opts, where = config if config else ({}, "")
        words = addopts_words(opts.get("addopts", ""))
        it = iter(words)
        for w in it:
            dist = None
            if w == "-p":
                dist = plugin_for_module(next(it, ""))
            elif w.startswith("-p") and len(w) > 2:
                dist = plugin_for_module(w[2:])
            else:
                dist = plugin_for_option(w)
            if dist:
                self.add_req(dist, f"{where} addopts {w}")
        for req in addopts_words(opts.get("required_plugins", "")):
            self.add_req(req, f"{where} required_plugins")
        for k in opts:
            if INI_PLUGINS.get(k):
                self.add_req(INI_PLUGINS[k], f"{where} {k}")
        for f, text in texts.items():
            for m in re.finditer(r"^\s*pytest_plugins\s*=\s*(.+)$", text, re.M):
                for mod in re.findall(r"['\"]([\w.]+)['\"]", m.group(1)):
                    dist = plugin_for_module(mod)
                    if dist and not self._local_module(mod):
                        self.add_req(dist, f"{f} pytest_plugins")
            for m in re.finditer(r"@pytest\.mark\.(\w+)", text):
                if MARKER_PLUGINS.get(m.group(1)) and not self._provided(m.group(1)):
                    self.add_req(MARKER_PLUGINS[m.group(1)], f"{f} @pytest.mark.{m.group(1)}")
            for m in re.finditer(r"^\s*(?:async\s+)?def\s+test\w*\s*\(([^)]*)\)", text, re.M):
                for param in re.findall(r"\w+", m.group(1)):
                    if FIXTURE_PLUGINS.get(param) and not self._provided(param) and \
                            not re.search(rf"def\s+{param}\s*\(", " ".join(texts.values())):
                        self.add_req(FIXTURE_PLUGINS[param], f"{f} uses the fixture {param}")
        self.pytest_bound(opts, where)
        command = "python -m pytest -rA -p no:cacheprovider"
        source = where or "pytest (conftest.py or test files import it)"
        testpaths = opts.get("testpaths")
        if not testpaths and runner:
            paths = [w for w in runner[0].split() if not w.startswith(("-", "{")) and self._is_path(w)]
            if paths:
                command += " -o testpaths=" + ",".join(paths) if len(paths) == 1 else ""
                source = runner[1]
        self.r.test = RecipeTests(command=command, parser="pytest", takes_files=True)
        self.fact("test command", command, source)

    def pytest_bound(self, opts: dict, where: str) -> None:
        """When pytest's configuration turns warnings into errors, a pytest newer than the repository's
        last commit would make its own new deprecations errors (collection errors): pytest is kept
        below its first feature release after that commit (a constraint; the lock's pin wins)."""
        if not warnings_are_errors(opts) or any(req_name(c) == "pytest" for c in self.r.constraints):
            return
        date = self.tree.date()
        bound = pytest_before(date)
        if bound is None:
            return
        self.r.constraints.append(bound)
        self.fact("constraints", bound, f"{where} turns warnings into errors; the last commit is of {date}")
        self.r.notes.append(f"{bound}: {where} turns warnings into errors, so pytest is kept at the releases "
                            f"before the repository's last commit ({date}); newer deprecations would be errors")

    def _is_path(self, word: str) -> bool:
        w = word.rstrip("/")
        return bool(w) and w not in (".",) and (self.tree.exists(w) or self.tree.is_dir(w))

    def unittest_plan(self, runner, test_files: list[str]) -> None:
        if runner and "unittest" in runner[0]:
            cmd = re.sub(r"^\S*python\S*", "python", runner[0].strip())
            cmd = re.sub(r"\s*\{posargs[^}]*\}", "", cmd)
            if " -v" not in cmd:
                cmd += " -v"
            self.r.test = RecipeTests(command=cmd, parser="unittest", takes_files="discover" not in cmd)
            self.fact("test command", cmd, runner[1])
            return
        dirs = sorted({f.split("/")[0] for f in test_files if "/" in f and re.fullmatch(r"tests?", f.split("/")[0])})
        if dirs and not self.tree.exists(f"{dirs[0]}/__init__.py"):
            # a test directory that is not a package: discovery must start there (files cannot be named)
            cmd, takes_files = f"python -m unittest discover -v -s {dirs[0]}", False
        else:
            cmd, takes_files = "python -m unittest -v", True
        self.r.test = RecipeTests(command=cmd, parser="unittest", takes_files=takes_files)
        self.fact("test command", cmd, "test files without pytest (unittest)")

    # -- imports of test files that nothing declares ------------------------------------------

    def _local_names(self) -> set[str]:
        if not hasattr(self, "_locals"):
            names = set()
            for f in self.tree.files:
                parts = f.split("/")
                for p in parts[:-1]:
                    names.add(p)
                stem = parts[-1].split(".")[0]
                names.add(stem)
            self._locals = names
        return self._locals

    def _local_module(self, module: str) -> bool:
        return module.split(".")[0] in self._local_names()

    def declared_elsewhere(self) -> dict[str, str]:
        """{canonical name: requirement} of what the project declares in extras and groups not chosen."""
        out: dict[str, str] = {}
        pp = self.pyproject
        pools = list(self.extras_available().values()) + [
            [x for x in g if isinstance(x, str)] for g in (pp.get("dependency-groups") or {}).values()]
        poetry = pp.get("tool", {}).get("poetry", {})
        for group in (poetry.get("group") or {}).values():
            pools.append([r for n, v in ((group or {}).get("dependencies") or {}).items()
                          if (r := poetry_requirement(n, v))])
        for pool in pools:
            for req in pool:
                name = req_name(req)
                if name:
                    out.setdefault(name, req)
        return out

    def imports(self, texts: dict[str, str]) -> None:
        """Modules the tests import at top level that nothing chosen declares: a requirement the project
        declares elsewhere (an extra, a group) that provides it, else the module's PyPI name when a
        conftest.py or two test files import it (a guess, tried alone)."""
        stdlib = set(sys.stdlib_module_names) | {"__future__"}
        declared = set(self.req_names) | {self.self_name}
        elsewhere = self.declared_elsewhere()
        importers: dict[str, list[str]] = {}
        for f, text in texts.items():
            for m in re.finditer(r"^(?:from\s+([A-Za-z_]\w*)[\w.]*\s+import\b|import\s+([A-Za-z_]\w*))", text, re.M):
                mod = m.group(1) or m.group(2)
                if mod in stdlib or self._local_module(mod):
                    continue
                dist = IMPORT_DISTS.get(mod, mod.replace("_", "-"))
                if dist is None or canon(dist) in declared or canon(dist) in _PROVIDED.get(mod, ()):
                    continue
                if any(canon(dist) in _PROVIDES.get(d, ()) for d in declared):
                    continue
                importers.setdefault(mod, [])
                if f not in importers[mod]:
                    importers[mod].append(f)
        for mod, files in sorted(importers.items()):
            dist = IMPORT_DISTS.get(mod, mod.replace("_", "-"))
            known = elsewhere.get(canon(dist)) or next(
                (req for name, req in elsewhere.items() if name.startswith(canon(mod) + "-")), None)
            if known:
                self.r.optional.append(known)
                self.fact("optional", known, f"{files[0]} imports {mod}; the project declares {known}")
            elif any(posixpath.basename(f) == "conftest.py" for f in files) or len(files) >= 2:
                self.r.optional.append(dist)
                self.fact("optional", dist, f"{files[0]} imports {mod} (a guess: declared nowhere)")
            else:
                self.r.notes.append(f"{files[0]} imports {mod}, which nothing declares (not installed)")
                continue
            self.req_names[canon(dist)] = files[0]

    # -- the Python version -------------------------------------------------------------------------

    def python(self) -> None:
        requires, src = None, ""
        project = self.pyproject.get("project", {})
        poetry_py = self.pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
        for value, where in ((project.get("requires-python"), "pyproject.toml [project] requires-python"),
                             (poetry_py if isinstance(poetry_py, str) else None, "pyproject.toml [tool.poetry] python"),
                             (self.setup_cfg.get("options", "python_requires", fallback=None),
                              "setup.cfg python_requires"),
                             (self._setup_kw("python_requires"), "setup.py python_requires")):
            if isinstance(value, str) and value.strip():
                requires, src = value.strip(), where
                break
        tested: set[str] = set()
        sources = []
        for text, where in ((self.tree.read("pyproject.toml"), "pyproject.toml classifiers"),
                            (self.tree.read("setup.cfg"), "setup.cfg classifiers"),
                            (self.setup_py, "setup.py classifiers")):
            vs = pyversion.classifier_versions(text or "")
            if vs:
                tested |= vs
                sources.append(where)
        tox_vs = pyversion.tox_versions(self.tox_ini.get("tox", "envlist", fallback=""))
        if tox_vs:
            tested |= tox_vs
            sources.append("tox.ini envlist")
        ci = pyversion.ci_versions(self.tree)
        if ci:
            tested |= ci
            sources.append("CI workflow matrix")
        pin = pyversion.pinned(self.tree)
        chosen = pyversion.choose(self.pythons, requires, tested, pin[0] if pin else None)
        why = [f"{src} {requires}"] if requires else []
        if pin:
            why.append(f"{pin[1]} {pin[0]}")
        elif tested:
            why.append(f"tested on {', '.join(sorted(tested, key=pyversion.key))} ({', '.join(sources)})")
        self.r.python = chosen
        self.fact("python", chosen, "; ".join(why) or "newest available")


_PROVIDED = {"pkg_resources": {"setuptools"}, "_pytest": {"pytest"}, "py": {"pytest"}}
_PROVIDES = {"pytest": {"pluggy", "iniconfig", "packaging", "py"}, "hypothesis": {"attrs", "sortedcontainers"},
             "httpx": {"httpcore", "anyio", "sniffio", "idna", "certifi", "h11"},
             "requests": {"urllib3", "idna", "certifi", "charset-normalizer"},
             "jsonschema": {"referencing", "rpds-py", "jsonschema-specifications", "attrs"},
             "flask": {"werkzeug", "jinja2", "itsdangerous", "click", "markupsafe", "blinker"},
             "pytest-asyncio": {"pytest"}, "trio": {"sniffio", "outcome", "attrs", "sortedcontainers", "idna"}}


def _lines(value: str) -> list[str]:
    return [ln.strip() for ln in (value or "").splitlines() if ln.strip() and not ln.strip().startswith("#")]


def _is_req_file(path: str) -> bool:
    base = posixpath.basename(path).lower()
    parent = posixpath.dirname(path).lower()
    if path.count("/") > 2 or not re.search(r"\.(txt|in)$", base):
        return False
    if parent in ("requirements", "reqs", "requirements.d", "ci/requirements", "requirements/ci"):
        return True
    if parent in ("tests", "test", "testing") and base.startswith("requirements"):
        return True
    return parent == "" and ("requirements" in base or "reqs" in base)


def _req_kind(path: str) -> str:
    base = posixpath.basename(path).lower()
    parent = posixpath.dirname(path).lower()
    if parent in ("tests", "test", "testing") or re.search(r"(^|[-_.])tests?([-_.]|$)|testing", base):
        return "test"
    if re.search(r"(^|[-_.])(dev|develop|development)([-_.]|$)", base):
        return "dev"
    return "other"


def _literal(node: ast.AST, names: dict[str, ast.AST]):
    if isinstance(node, ast.Name) and node.id in names:
        return _literal(names[node.id], names)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        pass
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        keys = [_literal(k, names) for k in node.keys]
        values = [_literal(v, names) for v in node.values]
        return dict(zip(keys, values, strict=True)) if None not in keys else None
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e, names) for e in node.elts]
        return items if None not in items else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, names), _literal(node.right, names)
        if isinstance(left, list) and isinstance(right, list):
            return left + right
    return None


def _setup_call_args(text: str) -> dict:
    """The literal keyword arguments of the setup() call of a setup.py."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    names: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            names[node.targets[0].id] = node.value
    out: dict = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "setup":
            for kw in node.keywords:
                if kw.arg:
                    value = _literal(kw.value, names)
                    if value is not None:
                        out[kw.arg] = value
    return out


def _session_calls(text: str, method: str) -> list[tuple[str, list[str]]]:
    """(function name, string arguments) of each `session.<method>(...)` in a noxfile, read with ast."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    names: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            names[node.targets[0].id] = node.value
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method:
                args: list[str] = []
                for a in node.args:
                    target = a.value if isinstance(a, ast.Starred) else a
                    value = _literal(target, names)
                    if isinstance(value, str):
                        args.append(value)
                    elif isinstance(value, (list, tuple)):
                        args += [str(v) for v in value if isinstance(v, str)]
                out.append((fn.name, args))
    return out


def _nox_installs(text: str) -> list[tuple[str, list[str]]]:
    return _session_calls(text, "install")


def _nox_runs(text: str) -> list[tuple[str, list[str]]]:
    return _session_calls(text, "run")


def detect(tree: Tree, pythons: list[str] | None = None) -> Recipe:
    """The recipe detection makes of a repository (before `[tool.patchwright]` is applied)."""
    d = _Detector(tree, list(pythons or PYTHONS))
    has_python = any(f.endswith(".py") for f in tree.files)
    if not (has_python or d.pyproject or d.setup_cfg.sections()):
        d.r.kind = "none"
        d.r.project = False
        d.r.python = "3.11" if "3.11" in d.pythons else sorted(d.pythons, key=pyversion.key)[-1]
        d.r.notes.append("not a Python project (no .py files, pyproject.toml or setup.py): the base image is used")
        return d.r
    d.python()
    d.project()
    d.dependency_groups()
    d.poetry_groups()
    d.requirement_files()
    d.tox()
    d.nox()
    d.pipfile()
    d.locks()
    if d.r.project:
        d.cython_sources()
    d.tests()
    d.r.notes += [submodules.note(path) for path in submodules.missing(tree)]
    if d.r.test is not None:
        d.r.notes += [ci_script_note(script) for script in ci_scripts_before_tests(tree)]
    if not d.r.project and not d.r.requirements:
        d.r.notes.append("no pyproject.toml, setup.py or requirements file: nothing is installed")
    d.r.dependency_files = sorted(d.dep_files)
    if d.r.project:
        d.r.version = tree.version()
    return d.r


_CI_TEST = re.compile(r"(^|[\s/;&|(])(pytest|py\.test|tox|nox)(\s|$)|-m\s+(pytest|tox|nox|unittest)\b|\bmake\s+(test|check)\b")
_CI_INSTALL = re.compile(r"\b(pip3?|uv|pipx|conda|apt(-get)?|brew)\s+(\S+\s+)?install\b")
_CI_SCRIPT = re.compile(r"(?:^|[\s/;&|(])python[\d.]*(?:\s+(?:-[WX]\s*\S+|-[A-Za-z]+))*\s+(?:\./)?([\w./-]+\.py)\b")


def ci_scripts_before_tests(tree: Tree) -> list[str]:
    """Scripts of the repository (`python updatezinfo.py`) that a GitHub Actions job runs in a step
    before the step that runs its tests (pytest, tox, nox, unittest, make test), read from the
    workflow files as they are (nothing is run). setup.py is not one (the install covers it)."""
    out: list[str] = []
    for path in tree.files:
        if not (path.startswith(".github/workflows/") and path.endswith((".yml", ".yaml"))):
            continue
        try:
            data = yaml.safe_load(tree.read(path) or "")
        except yaml.YAMLError:
            continue
        jobs = data.get("jobs") if isinstance(data, dict) else None
        for job in (jobs or {}).values() if isinstance(jobs, dict) else []:
            steps = job.get("steps") if isinstance(job, dict) else None
            runs = [str(step.get("run") or "") for step in (steps if isinstance(steps, list) else [])
                    if isinstance(step, dict)]
            lines = [ln for run in runs for ln in run.splitlines() if not _CI_INSTALL.search(ln)]
            before: list[str] = []
            for ln in lines:
                if _CI_TEST.search(ln):
                    out += [s for s in before if s not in out]
                    break
                for m in _CI_SCRIPT.finditer(ln):
                    script = m.group(1)
                    if script != "setup.py" and tree.exists(script) and script not in before:
                        before.append(script)
    return out


CI_SCRIPT_NOTE = "environment: CI runs {script} before the tests; [tool.patchwright] setup can run it"


def ci_script_note(script: str) -> str:
    """The environment note of a script CI runs before the tests."""
    return CI_SCRIPT_NOTE.format(script=script)


def ci_script_of(note: str) -> str | None:
    """The script a `ci_script_note` names; None for any other note."""
    head, _, tail = CI_SCRIPT_NOTE.partition("{script}")
    if note.startswith(head) and note.endswith(tail) and len(note) > len(head) + len(tail):
        return note[len(head):len(note) - len(tail)]
    return None
