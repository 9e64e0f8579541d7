"""The floors of docs/layout.md and DESIGN's module map, checked on the code: every library module's
imports (function-local ones included) are read with `ast`; an import that goes up a floor, across
siblings (`tools/` and `harness/`) or across applications (`swebench_runner/` and `github_bot/`), from
`agent/` into `harness/`, a library module that imports a command module of the face, and any import
cycle between modules fail.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOORS = {
    "patchwright": 4,
    "swebench_runner": 3, "github_bot": 3,
    "agent": 2,
    "tools": 1, "harness": 1,
    "sandbox": 0,
}
"""Each package imports only packages on a lower floor; packages on one floor never import each other."""
FORBIDDEN = {("agent", "harness")}
"""Lower floors a package must not import all the same: the agent stands on `tools/` and `sandbox/`."""
DATA = {"prompts"}
"""Packages that hold data: any floor may read them; they import nothing of the project."""
SKIP = ("harness/builtin/projects", "patchwright/demo/sample")
"""Sample repositories shipped as data, not modules of the project."""
COMMANDS = "patchwright.commands"
"""The face's command modules: only the command line (and other commands) may import them."""


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def library_modules(root: Path) -> dict[str, Path]:
    """Every module of the project's packages under `root`, by dotted name."""
    out = {}
    for top in [*FLOORS, *DATA]:
        for path in sorted((root / top).rglob("*.py")) if (root / top).is_dir() else []:
            rel = path.relative_to(root).as_posix()
            if not rel.startswith(SKIP):
                out[module_name(root, path)] = path
    return out


def imports_of(name: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(module imported, line, named) for every import in the file, at any depth, resolved to a
    module of the project when it names one (`from pkg import sub` is the module `pkg.sub`); the
    packages that import loads on the way have named=False."""
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            # importing a.b.c runs a/__init__ and a/b/__init__ first: the packages count as imported too
            # (but not the importer's own packages, which are already loading when it runs)
            parts = target.split(".")
            for n in range(1, len(parts) + 1):
                module = ".".join(parts[:n])
                own = n < len(parts) and (name == module or name.startswith(module + "."))
                if module in known and not own and all(m != module or k != node.lineno for m, k, _ in out):
                    out.append((module, node.lineno, module == target))
    return out


def graph(root: Path) -> tuple[dict[str, list[tuple[str, int, bool]]], dict[str, Path]]:
    modules = library_modules(root)
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}, modules


def layer_problems(root: Path) -> list[str]:
    """One line per import that breaks the floors (see FLOORS, DATA, COMMANDS)."""
    edges, modules = graph(root)
    problems = []
    for name, targets in sorted(edges.items()):
        top = name.split(".")[0]
        where = modules[name].relative_to(root).as_posix()
        for target, line, _ in [t for t in targets if t[2]]:
            other = target.split(".")[0]
            if top in DATA:
                problems.append(f"{where}:{line}: {name} is data and imports {target}")
            elif other == top or other in DATA:
                if target.startswith(COMMANDS) and not name.startswith((COMMANDS, "patchwright.cli")):
                    problems.append(f"{where}:{line}: {name} imports the command module {target}")
            elif (top, other) in FORBIDDEN:
                problems.append(f"{where}:{line}: {name} imports {target}, which its floor must not")
            elif FLOORS[other] > FLOORS[top]:
                problems.append(f"{where}:{line}: {name} imports {target}, a floor above it")
            elif FLOORS[other] == FLOORS[top]:
                problems.append(f"{where}:{line}: {name} imports {target}, a sibling on its own floor")
    return problems


def cycles(root: Path) -> list[list[str]]:
    """The import cycles between modules (each strongly connected component of more than one
    module, or a module that imports itself), by Tarjan's algorithm."""
    edges, _ = graph(root)
    succ = {name: sorted({t for t, _, _ in targets}) for name, targets in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in succ[v]:
                found.append(sorted(component))

    for v in sorted(succ):
        if v not in index:
            visit(v)
    return found


def unexplained_local_imports(root: Path) -> list[str]:
    """Function-local imports without a comment that says why (on the import's line, or between the
    start of the function that holds it and the import): one is allowed only where it keeps start-up
    fast, and the comment says so."""
    out = []
    for path in library_modules(root).values():
        lines = path.read_text(encoding="utf-8").splitlines()
        holder: dict[int, ast.AST] = {}  # import line -> the innermost function that holds it
        for func in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(func):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and (
                            node.lineno not in holder or holder[node.lineno].lineno < func.lineno):
                        holder[node.lineno] = func
        for lineno, func in sorted(holder.items()):
            said = [line for line in lines[func.lineno - 1:lineno] if line.strip().startswith("#") or "  # " in line]
            if not said:
                out.append(f"{path.relative_to(root).as_posix()}:{lineno}: {lines[lineno - 1].strip()}")
    return out


def test_no_import_goes_up_a_floor_or_across():
    assert layer_problems(ROOT) == []


def test_no_import_cycles():
    assert cycles(ROOT) == []


def test_function_local_imports_say_why():
    assert unexplained_local_imports(ROOT) == []


def test_the_checks_see_the_whole_library():
    edges, modules = graph(ROOT)
    assert {name.split(".")[0] for name in modules} == set(FLOORS) | DATA
    assert len(modules) > 100
    # a function-local import is read too (the face loads its commands lazily)
    assert any(target == "patchwright.api" for target, _, _ in edges["patchwright"])


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_the_checks_find_bad_imports_and_cycles_in_a_synthetic_tree(tmp_path):
    write_tree(tmp_path, {
        "sandbox/__init__.py": "",
        "sandbox/ws.py": "import os\n\n\ndef run():\n    # loads slowly: imported on first use\n    import json\n    import zlib\n",
        "sandbox/up.py": "def f():\n    from agent.fix import run\n",  # up a floor, function-local
        "sandbox/c1.py": "from . import c2\n",
        "sandbox/c2.py": "def g():\n    from .c1 import x\n",  # a cycle hidden in a function
        "tools/__init__.py": "",
        "tools/t.py": "from harness import grading\n",  # across siblings
        "harness/__init__.py": "",
        "harness/grading.py": "from sandbox.ws import run\n",  # fine: down a floor
        "agent/__init__.py": "",
        "agent/fix.py": "import prompts\nfrom tools.t import x\nfrom sandbox import ws\n",  # fine
        "agent/plan.py": "from harness.grading import grade\n",  # down, but the agent must not know the harness
        # a cycle through a package's __init__: budget -> models.types runs models/__init__ -> relay -> budget
        "agent/budget.py": "from agent.models.types import Turn\n",
        "agent/models/__init__.py": "from .relay import Relay\n",
        "agent/models/types.py": "",
        "agent/models/relay.py": "def wait():\n    # why: to show that a comment does not hide a cycle\n    from agent.budget import Out\n",
        "swebench_runner/__init__.py": "",
        "swebench_runner/r.py": "import github_bot.b\n",  # across applications
        "github_bot/__init__.py": "",
        "github_bot/b.py": "from agent.fix import run\n",  # fine
        "patchwright/__init__.py": "",
        "patchwright/api.py": "from .commands.x import y\n",  # the library importing a command
        "patchwright/commands/__init__.py": "",
        "patchwright/commands/x.py": "from patchwright import api\nfrom swebench_runner import r\n",  # fine
        "prompts/__init__.py": "from sandbox import ws\n",  # data importing code
        "harness/builtin/projects/p/m.py": "import agent.fix\n",  # a sample project: not read
    })
    problems = layer_problems(tmp_path)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "agent.plan imports harness.grading, which its floor must not",
        "patchwright.api imports the command module patchwright.commands.x",
        "prompts is data and imports sandbox.ws",
        "sandbox.up imports agent.fix, a floor above it",
        "swebench_runner.r imports github_bot.b, a sibling on its own floor",
        "tools.t imports harness.grading, a sibling on its own floor",
    ]
    assert problems[3].startswith("sandbox/up.py:2: ")
    assert unexplained_local_imports(tmp_path) == ["sandbox/c2.py:2: from .c1 import x",
                                                   "sandbox/up.py:2: from agent.fix import run"]
    assert sorted(cycles(tmp_path)) == [["agent.budget", "agent.models", "agent.models.relay"],
                                        ["patchwright.api", "patchwright.commands.x"], ["sandbox.c1", "sandbox.c2"]]
