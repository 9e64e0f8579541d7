"""sympy's `bin/test --verbose` and `bin/doctest --verbose` output -> per-test results (ids
`path.py::test_name`; a doctest's `path.py::dotted.name`, as pytest names doctest items).

A file starts with `path.py[N]` (N tests); each test prints its name, then whatever it prints
itself, then a one-letter verdict: `ok`, `F` failed, `E` error, `f` expected failure, `X`
unexpected pass, `s` skipped (reason before it), `w` skipped as slow, `T` timed out, `K`
interrupted. A line that is only a verdict belongs to the test whose name started the chunk, and
overrides what its own output looked like (`test_x test_ghost F` then `ok` is test_x passed). The
file's last line carries `[OK]`/`[FAIL]`; `path.py[?]   Failed to import   [FAIL]` is a
collection error, whose traceback follows under `___ /abs/path.py ___`.

`bin/doctest` prints the same blocks with each doctest's dotted name (`sympy.core.mod.Mod ok`) in
place of a test name. A module whose import fails other than by a missing name (a syntax error)
stops the whole doctest run with a bare traceback through doctest's `_normalize_module`: that
module (the requested one the traceback's last frame is in) is a collection error.
"""

from __future__ import annotations

import re

from .model import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    XFAIL,
    XPASS,
    CollectionError,
    Results,
    TestResult,
    missing_module,
)

_FILE = re.compile(r"^(\S+\.py)\[(\d+|\?)\]\s*(.*)$")
_MARK = re.compile(r"\s*\[(OK|FAIL)\]\s*$")
_VERDICT = {"ok": PASSED, "F": FAILED, "E": ERROR, "f": XFAIL, "X": XPASS, "s": SKIPPED, "w": SKIPPED,
            "T": ERROR, "K": SKIPPED}
_FAILURE_HEAD = re.compile(r"^_+ (\S+\.py):(\w+) _+$")
_IMPORT_HEAD = re.compile(r"^_+ (\S+\.py) _+$")
_CRASH = re.compile(r'^\s*File "(.+\.py)", line \d+')
_FINISHED = re.compile(r"^[=\s]*tests finished: (.*?)[=\s]*$")
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|expected to fail but passed|expected to fail|exceptions)")
_COUNT_STATUS = {"passed": PASSED, "failed": FAILED, "skipped": SKIPPED, "expected to fail": XFAIL,
                 "expected to fail but passed": XPASS, "exceptions": ERROR}


def _dotted(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _is_name(word: str, path: str) -> bool:
    """Whether `word` names a test of `path`: `test_x`, or one of its doctests (`pkg.mod.f`)."""
    module = _dotted(path)
    return word.startswith("test") or word == module or word.startswith(module + ".")


def read_sympy_log(output: str, requested: list[str] | tuple = ()) -> Results:
    res = Results(runner="sympy", source="log")
    lines = output.replace("\r", "").split("\n")
    path = None
    current = None
    announced = 0
    broken: list[str] = []
    for raw in lines:
        m = _FILE.match(raw)
        if m:
            path, current = m.group(1), None
            if m.group(2) == "?":
                broken.append(path)
                path = None
            else:
                announced += int(m.group(2))
            continue
        if path is None:
            continue
        line = _MARK.sub("", raw).rstrip()
        if not line.strip():
            if _MARK.search(raw) is None:
                path = None  # the blank line after a file's block
            continue
        words = line.split()
        if len(words) == 1 and words[0] in _VERDICT and current is not None:
            res.tests[current].status = _VERDICT[words[0]]
        elif _is_name(words[0], path):
            current = f"{path}::{words[0]}"
            last = words[-1] if len(words) > 1 else None
            if last in _VERDICT:
                reason = " ".join(words[1:-1]) if _VERDICT[last] == SKIPPED else ""
                res.tests[current] = TestResult(current, _VERDICT[last], None, reason)
            else:
                res.tests[current] = TestResult(current, "", None)  # output or a cut run: no verdict yet
        if _MARK.search(raw):
            path = None
    res.tests = {t: r for t, r in res.tests.items() if r.status}
    res.collected = announced or None
    for k, line in enumerate(lines):
        m = _IMPORT_HEAD.match(line.strip())
        if m and not _FAILURE_HEAD.match(line.strip()):
            target = next((b for b in broken if m.group(1).endswith("/" + b) or m.group(1) == b), None)
            if target:
                body = "\n".join(lines[k + 1:k + 40]).split("\n_____", 1)[0]
                last = [ln for ln in body.strip().split("\n") if ln.strip()]
                res.collection_errors.append(CollectionError(target, last[-1].strip() if last else "",
                                                             missing_module(body)))
                broken.remove(target)
        m = _FINISHED.match(line)
        if m:
            text = " ".join([m.group(1), *lines[k + 1:k + 2]])
            res.runner_counts = {}
            for n, word in _COUNT.findall(text):
                res.runner_counts[_COUNT_STATUS[word]] = res.runner_counts.get(_COUNT_STATUS[word], 0) + int(n)
    res.collection_errors += [CollectionError(b, "Failed to import") for b in broken]
    crash = _import_crash(lines, requested) if res.runner_counts is None else None  # the run did not finish
    if crash is not None and all(e.target != crash.target for e in res.collection_errors):
        res.collection_errors.append(crash)
    return res


def _import_crash(lines: list[str], requested: list[str] | tuple) -> CollectionError | None:
    """The module whose import stopped a doctest run (a traceback through `_normalize_module`)."""
    start = next((k for k, ln in enumerate(lines) if "in _normalize_module" in ln), None)
    if start is None:
        return None
    end = next((k for k in range(start, len(lines)) if not lines[k].strip()), len(lines))
    frames = [(k, m.group(1)) for k, ln in enumerate(lines[start:end], start) if (m := _CRASH.match(ln))]
    if len(frames) < 2:
        return None
    at, where = frames[-1]
    target = next((r for r in requested if where == r or where.endswith("/" + r)), where)
    body = [ln for ln in lines[at:end] if ln.strip()]
    last = next((ln.strip() for ln in body if re.match(r"^\w*(Error|Exception)\b", ln.strip())), body[-1].strip())
    return CollectionError(target, last, missing_module("\n".join(body)))
