"""JUnit XML reports -> per-test results.

pytest writes one with `--junitxml=PATH` (built in); it is written by the outer session only, so
tests that pytest runs inside pytest (pytester, plugins' own suites) never appear in it. Other
runners' JUnit XML (unittest-xml-reporting, nose, Java-style reports) reads the same way: a
`testcase` is passed unless it holds `failure`, `error` or `skipped`.

pytest's classname is the node id mangled (`tests/test_x.py::TestA::test_b` -> classname
`tests.test_x.TestA`, name `test_b`); `files` (paths known to exist: requested files, paths the
console shows) turns it back into a node id; without a match, class names are the components that
start with an upper-case letter.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .model import ERROR, FAILED, PASSED, SKIPPED, XFAIL, CollectionError, Results, TestResult, missing_module


def _mangle(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0][:200]


def _last_line(text: str | None) -> str:
    lines = [ln.strip() for ln in (text or "").strip().split("\n") if ln.strip()]
    return lines[-1][:200] if lines else ""


def node_id(classname: str, name: str, files: list[str], file_attr: str | None = None) -> str:
    """pytest's node id of a JUnit testcase."""
    candidates = ([file_attr] if file_attr else []) + sorted(files, key=len, reverse=True)
    for path in candidates:
        if not path.endswith(".py"):
            continue
        mangled = _mangle(path)
        if classname == mangled or classname.startswith(mangled + "."):
            classes = classname[len(mangled) + 1:].split(".") if classname != mangled else []
            return "::".join([path, *classes, name])
    parts = classname.split(".")
    k = next((i for i, p in enumerate(parts) if p[:1].isupper() and i > 0), len(parts))
    return "::".join(["/".join(parts[:k]) + ".py", *parts[k:], name])


def read_junit(xml_text: str, runner: str = "pytest", files: list[str] | None = None) -> Results:
    """Results from a JUnit XML report. Raises ValueError when the text is not one."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as e:
        raise ValueError(f"not a JUnit XML report: {e}") from None
    files = list(files or [])
    res = Results(runner=runner, source="junit")
    for case in root.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
        if not classname and (error is not None or skipped is not None):
            # pytest's collection report of a whole module: `name` is the mangled path
            target = next((f for f in files if _mangle(f) == name), name.replace(".", "/") + ".py")
            if error is not None:
                text = error.text or ""
                res.collection_errors.append(CollectionError(target, _last_line(text), missing_module(text)))
            else:
                res.tests[target] = TestResult(target, SKIPPED, 0.0, _last_line(skipped.text))
            continue
        tid = node_id(classname, name, files, case.get("file")) if runner == "pytest" else f"{classname}.{name}"
        if error is not None:
            status, msg = ERROR, error.get("message") or error.text
        elif failure is not None:
            status, msg = FAILED, failure.get("message") or failure.text
        elif skipped is not None:
            status = XFAIL if skipped.get("type") == "pytest.xfail" else SKIPPED
            msg = skipped.get("message") or skipped.text
        else:
            status, msg = PASSED, ""
        time = case.get("time")
        res.tests[tid] = TestResult(tid, status, float(time) if time else None, _first_line(msg))
    return res
