"""Which Python a repository wants: declared bounds, the versions it is tested on, pins."""

from __future__ import annotations

import configparser
import re

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from .reqs import python_constraint
from .tree import Tree

_VERSION = re.compile(r"^3\.(\d+)$")


def key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def allows(spec: str, version: str) -> bool:
    """Whether a requires-python specifier admits some release of `version` (3.X)."""
    try:
        s = SpecifierSet(python_constraint(spec))
    except InvalidSpecifier:
        return True
    return any(s.contains(f"{version}.{patch}", prereleases=True) for patch in (0, 5, 99))


def classifier_versions(text: str) -> set[str]:
    return set(re.findall(r"Programming Language :: Python :: (3\.\d+)\b", text or ""))


def _expand(text: str) -> list[str]:
    """tox's brace expansion: `py{38,39}-django{3,4}` -> four names."""
    m = re.search(r"\{([^{}]*)\}", text)
    if not m:
        return [text]
    return [y for part in m.group(1).split(",") for y in _expand(text[: m.start()] + part.strip() + text[m.end():])]


def tox_versions(envlist: str) -> set[str]:
    out = set()
    for item in re.split(r"[\s,]+(?![^{]*\})", envlist or ""):
        for name in _expand(item.strip()):
            for factor in name.split("-"):
                m = re.fullmatch(r"py(3)(\d+)|py(3)\.(\d+)", factor)
                if m:
                    out.add(f"3.{m.group(2) or m.group(4)}")
    return out


def _walk_versions(node, out: set[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, str) and re.fullmatch(r"python[-_]?versions?|python|py|pyver|python[-_]version[-_]?list",
                                                   k, re.I):
                items = v if isinstance(v, list) else [v]
                for item in items:
                    m = re.fullmatch(r"(?:cpython-?)?(3\.\d+)(?:\.\d+)?", str(item).strip())
                    if m:
                        out.add(m.group(1))
            _walk_versions(v, out)
    elif isinstance(node, list):
        for v in node:
            _walk_versions(v, out)


def ci_versions(tree: Tree) -> set[str]:
    """Python versions in CI workflow matrices (GitHub Actions, GitLab, Azure, Travis)."""
    out: set[str] = set()
    for path in tree.files:
        if not (path.startswith(".github/workflows/") or path in (".gitlab-ci.yml", ".travis.yml",
                                                                   "azure-pipelines.yml", "appveyor.yml")):
            continue
        if not path.endswith((".yml", ".yaml")):
            continue
        try:
            _walk_versions(yaml.safe_load(tree.read(path) or ""), out)
        except yaml.YAMLError:
            continue
    return out


def pinned(tree: Tree) -> tuple[str, str] | None:
    """A version pinned by .python-version (or attrs' .python-version-default) or runtime.txt."""
    for path in (".python-version", ".python-version-default", "runtime.txt"):
        text = tree.read(path)
        if not text:
            continue
        for line in text.splitlines():
            m = re.match(r"\s*(?:python-)?(3\.\d+)", line)
            if m:
                return m.group(1), path
    return None


def choose(available: list[str], requires: str | None, tested: set[str], pin: str | None) -> str:
    """The newest available version that `requires` admits, preferring a pinned or tested one."""
    ordered = sorted(available, key=key, reverse=True)
    fits = [v for v in ordered if not requires or allows(requires, v)] or ordered
    if pin:
        at_most = [v for v in fits if key(v) <= key(pin)]
        return at_most[0] if at_most else fits[-1]
    tested = {v for v in tested if _VERSION.match(v)}
    if tested:
        both = [v for v in fits if v in tested]
        if both:
            return both[0]
        lo, hi = min(tested, key=key), max(tested, key=key)
        inside = [v for v in fits if key(lo) <= key(v) <= key(hi)]
        if inside:
            return inside[0]
        below = [v for v in fits if key(v) <= key(hi)]
        return below[0] if below else fits[-1]
    return fits[0]


def read_ini(text: str | None) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    if text:
        try:
            cp.read_string(text)
        except configparser.Error:
            pass
    return cp
