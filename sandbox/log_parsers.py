"""Test logs -> per-test status. Each parser is a pure function `log text -> {test name: status}`.

Statuses are those of SWE-bench: PASSED, FAILED, SKIPPED, ERROR, XFAIL. Test names are the ones
SWE-bench's FAIL_TO_PASS / PASS_TO_PASS lists use for each runner: pytest node ids from the
`-rA` summary, `test_name (module.Class)` for django's runtests, bare function names for sympy's
bin/test. Parsers are looked up by our name (`pytest`) or the official one (`parse_log_pytest`,
`parse_log_requests`, …).
"""

from __future__ import annotations

import re
from collections.abc import Callable

PASSED, FAILED, SKIPPED, ERROR, XFAIL = "PASSED", "FAILED", "SKIPPED", "ERROR", "XFAIL"
STATUSES = (FAILED, PASSED, SKIPPED, ERROR, XFAIL)

Parser = Callable[[str], dict[str, str]]
_SKIP_COUNT = re.compile(r"^\[\d+\]$")
_OPTION = re.compile(r"(.*?)\[(.*)\]")
_ANSI = re.compile(r"\[(\d+)m")
_CONTROL = str.maketrans("", "", "".join(chr(c) for c in range(1, 32)))


def _status_line(line: str) -> str | None:
    return next((s for s in STATUSES if line.startswith(s)), None)


def parse_pytest(log: str, *, options: bool = False) -> dict[str, str]:
    """pytest's `-rA` short summary: `PASSED tests/test_x.py::test_a`, `FAILED id - message`.

    With options=True a parametrisation that is an absolute path keeps only its last component
    (node ids that embed a temporary directory differ between machines).
    """
    out: dict[str, str] = {}
    for line in log.split("\n"):
        status = _status_line(line)
        if status is None:
            continue
        if status == FAILED:
            line = line.replace(" - ", " ")
        words = line.split()
        if len(words) < 2 or (words[0] == SKIPPED and _SKIP_COUNT.match(words[1])):
            continue
        name = words[1]
        if options:
            m = _OPTION.search(name)
            if m:
                main, opt = m.groups()
                if opt.startswith("/") and not opt.startswith("//") and "*" not in opt:
                    opt = "/" + opt.split("/")[-1]
                name = f"{main}[{opt}]"
        out[name] = words[0]
    return out


def parse_pytest_v2(log: str) -> dict[str, str]:
    """pytest summary lines with colour codes removed, plus verbose `id STATUS` lines of old pytest.

    A node id may contain spaces (parametrisations), so the whole rest of the line is the name.
    """
    out: dict[str, str] = {}
    for raw in log.split("\n"):
        line = _ANSI.sub("", raw).translate(_CONTROL)
        status = _status_line(line)
        if status is not None:
            if status == FAILED:
                line = line.split(" - ", 1)[0]
            words = line.split()
            if len(words) >= 2 and not (words[0] == SKIPPED and _SKIP_COUNT.match(words[1])):
                out[" ".join(words[1:])] = words[0]
        elif line.endswith(STATUSES):
            words = line.split()
            if len(words) >= 2:
                out[" ".join(words[:-1])] = words[-1]
    return out


def parse_seaborn(log: str) -> dict[str, str]:
    """seaborn: pytest summary lines, and verbose `id PASSED [ 10%]` lines."""
    out: dict[str, str] = {}
    for line in log.split("\n"):
        words = line.split()
        if len(words) < 2:
            continue
        if line.startswith(FAILED):
            out[words[1]] = FAILED
        elif f" {PASSED} " in line:
            if words[1] == PASSED:
                out[words[0]] = PASSED
        elif line.startswith(PASSED):
            out[words[1]] = PASSED
    return out


_SYMPY_FAILURE = re.compile(r"(_*) (.*)\.py:(.*) (_*)")


def parse_sympy(log: str) -> dict[str, str]:
    """sympy's bin/test --verbose: `test_name ok|F|E`, and `___ path.py:test_name ___` failure headers."""
    out: dict[str, str] = {}
    for m in _SYMPY_FAILURE.findall(log):
        out[f"{m[1]}.py:{m[2]}"] = FAILED
    for line in log.split("\n"):
        line = line.strip()
        if not line.startswith("test_"):
            continue
        if line.endswith(" E"):
            out[line.split()[0]] = ERROR
        if line.endswith(" F"):
            out[line.split()[0]] = FAILED
        if line.endswith(" ok"):
            out[line.split()[0]] = PASSED
    return out


_DJANGO_INTERRUPTED = [
    r"^(.*?)\s\.\.\.\sTesting\ against\ Django\ installed\ in\ ((?s:.*?))\ silenced\)\.\nok$",
    r"^(.*?)\s\.\.\.\sInternal\ Server\ Error:\ \/(.*)\/\nok$",
    r"^(.*?)\s\.\.\.\sSystem check identified no issues \(0 silenced\)\nok$",
]


def parse_django(log: str) -> dict[str, str]:
    """django's runtests --verbosity 2: `test_x (module.Class) ... ok|FAIL|ERROR|skipped`."""
    out: dict[str, str] = {}
    prev = None
    for line in log.split("\n"):
        line = line.strip()
        if "--version is equivalent to version" in line:
            out["--version is equivalent to version"] = PASSED
        if " ... " in line:
            prev = line.split(" ... ")[0]
        for suffix in (" ... ok", " ... OK", " ...  OK"):
            if line.endswith(suffix):
                if line.startswith("Applying sites.0002_alter_domain_unique...test_no_migrations"):
                    line = line.split("...", 1)[-1].strip()
                out[line.rsplit(suffix, 1)[0]] = PASSED
                break
        if " ... skipped" in line:
            out[line.split(" ... skipped")[0]] = SKIPPED
        if line.endswith(" ... FAIL"):
            out[line.split(" ... FAIL")[0]] = FAILED
        if line.startswith("FAIL:"):
            out[line.split()[1].strip()] = FAILED
        if line.endswith(" ... ERROR"):
            out[line.split(" ... ERROR")[0]] = ERROR
        if line.startswith("ERROR:"):
            out[line.split()[1].strip()] = ERROR
        if line.lstrip().startswith("ok") and prev is not None:
            out[prev] = PASSED  # output printed between "..." and "ok"
    for pattern in _DJANGO_INTERRUPTED:
        for m in re.finditer(pattern, log, re.MULTILINE):
            out[m.group(1)] = PASSED
    return out


def parse_matplotlib(log: str) -> dict[str, str]:
    """matplotlib: pytest summary lines, with MouseButton enum values printed as numbers."""
    return parse_pytest(log.replace("MouseButton.LEFT", "1").replace("MouseButton.RIGHT", "3"))


_UNITTEST_HEAD = re.compile(r"^(\w+) \(([\w.]+)\)")
_UNITTEST_STATUS = {"ok": PASSED, "FAIL": FAILED, "ERROR": ERROR, "skipped": SKIPPED,
                    "expected failure": XFAIL, "unexpected success": FAILED}


def parse_unittest(log: str) -> dict[str, str]:
    """stdlib unittest with -v: `test_x (pkg.mod.Class.test_x) ... ok|FAIL|ERROR|skipped ...`.

    Names are dotted ids (`pkg.mod.Class.test_x`, what `python -m unittest ID` takes), also for
    Pythons before 3.11 that print only the class in parentheses. A test with a docstring prints
    it on the next line, before the status.
    """
    out: dict[str, str] = {}
    pending = None
    for line in log.split("\n"):
        m = _UNITTEST_HEAD.match(line)
        if m:
            name, where = m.groups()
            pending = where if where.endswith("." + name) else f"{where}.{name}"
        if pending is None or " ... " not in line:
            continue
        verdict = line.rsplit(" ... ", 1)[1].strip()
        status = next((s for word, s in _UNITTEST_STATUS.items() if verdict.startswith(word)), None)
        if status is not None:
            out[pending] = status
            pending = None
    return out


PARSERS: dict[str, Parser] = {
    "pytest": parse_pytest,
    "pytest_options": lambda log: parse_pytest(log, options=True),
    "pytest_v2": parse_pytest_v2,
    "seaborn": parse_seaborn,
    "sympy": parse_sympy,
    "django": parse_django,
    "matplotlib": parse_matplotlib,
    "unittest": parse_unittest,
}

# the official harness's parser names (swebench.harness.log_parsers) -> ours
OFFICIAL_NAMES = {
    "parse_log_pytest": "pytest", "parse_log_pytest_options": "pytest_options",
    "parse_log_pytest_v2": "pytest_v2", "parse_log_django": "django", "parse_log_seaborn": "seaborn",
    "parse_log_sympy": "sympy", "parse_log_matplotlib": "matplotlib",
    **{f"parse_log_{n}": "pytest" for n in ("astroid", "flask", "marshmallow", "pvlib", "pyvista", "sqlfluff",
                                              "xarray")},
    **{f"parse_log_{n}": "pytest_options" for n in ("pydicom", "requests", "pylint")},
    **{f"parse_log_{n}": "pytest_v2" for n in ("astropy", "scikit", "sphinx")},
}


def get_parser(name: str) -> Parser:
    """A parser by our name or the official one; KeyError names the known ones."""
    key = OFFICIAL_NAMES.get(name, name)
    if key not in PARSERS:
        raise KeyError(f"unknown log parser {name!r} (known: {', '.join(sorted(PARSERS))})")
    return PARSERS[key]
