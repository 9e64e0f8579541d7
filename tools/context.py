"""The tools' context: one Workspace, what the tools know of it, and the edits they made.

Tools read and write through the context, which caches file bytes it has just read or written
(with a DockerWorkspace every read is a round trip), keeps the symbol index fresh (an edited file
is re-parsed alone) and keeps each file's edit history for `undo_edit`. Anything that may change
files behind the tools' back (a shell command the agent ran) must be followed by `invalidate()`;
the `bash` tool does that itself.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.diffs import touched_files
from sandbox.workspace import FileTooLarge, NotRegularFile, OutsideWorkspace

from . import guard
from .symbols import Definition, FileSymbols, SymbolIndex, build_index, extract, language_of

NUL_SNIFF = 8192


class ToolError(Exception):
    """A call the tool cannot carry out; the message says why and what to do instead."""


@dataclass(frozen=True)
class EditResult:
    """What an accepted edit did."""

    path: str
    warnings: list[str]
    """Undefined names the edit brought (Python), one line each."""


class ToolContext:
    """The tools' view of one Workspace. Create one per workspace and pass it to every tool call.

    `test_runner`, when set (by the agent), is what the `run_tests` tool calls:
    `test_runner(ctx, tests) -> str` with `tests` a list of test ids or None for the default set.
    """

    def __init__(self, workspace, *, test_runner: Callable[[ToolContext, list[str] | None], str] | None = None,
                 index_cache=True):
        self.workspace = workspace
        self.test_runner = test_runner
        self._index_cache = index_cache
        self._bytes: dict[str, bytes] = {}
        self._symbols: dict[str, FileSymbols | None] = {}
        self._files: list[str] | None = None
        self._index: SymbolIndex | None = None
        self._index_stale = False
        self._index_touched: set[str] = set()
        self._history: dict[str, list[bytes | None]] = {}
        self._written: dict[str, bytes | None] = {}
        self._touched: set[str] | None = set()
        self._warned: list[tuple[str, list[str]]] = []

    # -- freshness -------------------------------------------------------------------------------
    def invalidate(self) -> None:
        """Forget cached file contents and listings: call after anything else changed files (a shell
        command). The symbol index is brought up to date on its next use (only changed files are
        re-read)."""
        self._bytes.clear()
        self._symbols.clear()
        self._files = None
        self._touched = None
        if self._index is not None:
            self._index_stale = True

    def take_touched(self) -> list[str] | None:
        """The files the tools wrote or removed since the last call (sorted), or None when files may
        have changed otherwise too (`invalidate()` was called); then starts counting anew."""
        touched, self._touched = self._touched, set()
        return sorted(touched) if touched is not None else None

    # -- paths -----------------------------------------------------------------------------------
    def rel(self, path: str) -> str:
        """`path` relative to the repository root, normalized; a ToolError when it leaves the repository."""
        if not isinstance(path, str) or not path.strip():
            raise ToolError("a path is required (relative to the repository root, e.g. 'src/module.py')")
        p = path.strip().replace("\\", "/")
        root = self.workspace.root.rstrip("/")
        if p.startswith("/"):
            if p == root or p.startswith(root + "/"):
                p = p[len(root):].lstrip("/") or "."
            else:
                raise ToolError(f"{path} is outside the repository; give a path relative to its root")
        p = posixpath.normpath(p)
        if p == ".." or p.startswith("../"):
            raise ToolError(f"{path} is outside the repository; give a path relative to its root")
        if self.workspace.kind == "local" and p != ".":
            real = os.path.realpath(os.path.join(root, p))
            real_root = os.path.realpath(root)
            if real != real_root and not real.startswith(real_root + os.sep):
                raise ToolError(f"{path} leads outside the repository (through a symbolic link); it is refused")
        return p

    def rel_for_edit(self, path: str) -> str:
        p = self.rel(path)
        if p == "." or p == ".git" or p.startswith(".git/"):
            raise ToolError(f"{path} cannot be edited: give the path of a file of the repository")
        return p

    # -- files -----------------------------------------------------------------------------------
    def file_list(self) -> list[str]:
        """The repository's files (tracked and untracked ones not ignored), cached until invalidated."""
        if self._files is None:
            self._files = self.workspace.list_files()
        return self._files

    def read_bytes(self, path: str) -> bytes:
        """A file's bytes (cached); a ToolError naming similar paths when it does not exist."""
        p = self.rel(path)
        if p in self._bytes:
            return self._bytes[p]
        try:
            data = self.workspace.read_bytes(p)
        except IsADirectoryError:
            raise ToolError(f"{p} is a directory; use list_dir to see what it holds") from None
        except FileTooLarge as exc:
            size = f"{exc.size / 1e6:.1f} MB" if exc.size else "over the cap"
            raise ToolError(f"{p} is too large for the tools to read ({size}; they read files up to "
                            f"{exc.limit // (1024 * 1024)} MiB). Use bash to look at parts of it "
                            "(head, sed -n 'A,Bp', grep -n)") from None
        except NotRegularFile:
            raise ToolError(f"{p} is not a regular file (a device, a FIFO or a socket); it is not read") from None
        except OutsideWorkspace:
            raise ToolError(f"{p} leads outside the repository (through a symbolic link); it is refused") from None
        except (FileNotFoundError, PermissionError, NotADirectoryError):
            raise ToolError(f"{p} does not exist. {self.similar_paths(p)}".strip()) from None
        except ValueError as exc:  # the workspace refused the path
            raise ToolError(str(exc)) from None
        self._bytes[p] = data
        return data

    def exists(self, path: str) -> bool:
        p = self.rel(path)
        return p in self._bytes or self.workspace.exists(p)

    def similar_paths(self, path: str) -> str:
        """A sentence naming files whose path resembles `path` (empty when there are none)."""
        try:
            files = self.file_list()
        except Exception:
            return ""
        base = posixpath.basename(path)
        same = [f for f in files if posixpath.basename(f) == base]
        close = same[:8] or difflib.get_close_matches(path, files, n=5, cutoff=0.6)
        if not close:
            return "Use list_dir or search to find the file."
        return "Did you mean: " + ", ".join(close) + "?"

    def text_for_edit(self, path: str) -> str:
        """A file's text for editing; a ToolError when it is binary or not UTF-8."""
        p = self.rel_for_edit(path)
        data = self.read_bytes(p)
        return decode_for_edit(p, data)

    # -- symbols ---------------------------------------------------------------------------------
    def symbols(self, path: str) -> FileSymbols | None:
        """The definitions of one file as it is now (None: a language the index does not parse, or
        a file that is not text)."""
        p = self.rel(path)
        if p in self._symbols:
            return self._symbols[p]
        lang = language_of(p)
        fs = None
        if lang is not None:
            data = self.read_bytes(p)
            if b"\0" not in data[:NUL_SNIFF]:
                try:
                    data.decode("utf-8")
                    fs = extract(lang, p, data)
                except UnicodeDecodeError:
                    fs = None
        self._symbols[p] = fs
        return fs

    def index(self) -> SymbolIndex:
        """The repository's symbol index: built on first use, kept fresh after edits and commands."""
        if self._index is None:
            self._index = build_index(self.workspace, cache=self._index_cache)
            self._index_stale = False
        elif self._index_stale:
            self._refresh_index()
        return self._index

    def _refresh_index(self) -> None:
        changed = set(touched_files(self.workspace.diff()))
        paths = sorted(p for p in changed | self._index_touched if language_of(p) is not None)
        got = self.workspace.read_many(paths) if paths else {}
        for p in paths:
            data = got.get(p)
            fs = None
            if data is not None and b"\0" not in data[:NUL_SNIFF]:
                try:
                    data.decode("utf-8")
                    fs = extract(language_of(p), p, data)
                except UnicodeDecodeError:
                    pass
            self._index.replace_file(p, fs)
        self._index_touched = set(changed)
        self._index_stale = False

    def _update_symbols(self, path: str, data: bytes | None) -> None:
        lang = language_of(path)
        fs = extract(lang, path, data) if (lang and data is not None) else None
        self._symbols[path] = fs
        if self._index is not None and not self._index_stale:
            self._index.replace_file(path, fs)
            self._index_touched.add(path)

    def lookup(self, name: str) -> list[Definition]:
        """Definitions matching `name`: `function`, `Class.method`, `path.py:Class.method`, a dotted
        module path (`pkg.mod.Class.method`); a trailing `@LINE` keeps the one whose lines hold LINE."""
        name = (name or "").strip()
        if not name:
            raise ToolError("a symbol name is required, e.g. 'function', 'Class.method' or 'path.py:Class.method'")
        line = None
        m = re.fullmatch(r"(.*?)@(\d+)", name)
        if m:
            name, line = m.group(1), int(m.group(2))
        if ":" in name:
            path, _, qual = name.rpartition(":")
            path = path.strip()
            path = path[2:] if path.startswith("./") else path
            found = None
            if language_of(path) is not None:
                try:
                    fs = self.symbols(path)  # the file itself: no index needed
                except ToolError:  # no such file: perhaps a path suffix, which the index resolves
                    fs = None
                else:
                    if fs is None:  # binary or not UTF-8: say so
                        decode_for_edit(self.rel(path), self.read_bytes(path))
                    found = match_definitions(fs.definitions, qual)
            if found is None:
                found = self.index().find(f"{path}:{qual}")
        else:
            found = self.index().find(name)
            if not found and "." in name:
                found = self._module_path_lookup(name)
        if line is not None:
            found = [d for d in found if d.start_line <= line <= d.end_line]
            found = sorted(found, key=lambda d: d.end_line - d.start_line)[:1]
        return found

    def _module_path_lookup(self, name: str) -> list[Definition]:
        parts = name.split(".")
        for k in range(len(parts) - 1, 0, -1):
            mod, qual = "/".join(parts[:k]), ".".join(parts[k:])
            for ext in (".py", "/__init__.py"):
                hits = self.index().find(f"{mod}{ext}:{qual}")
                if hits:
                    return hits
        return []

    def resolve(self, name: str) -> Definition:
        """The one definition `name` names; a ToolError listing the candidates when it names several,
        or suggesting near names when it names none."""
        found = self.lookup(name)
        if len(found) == 1:
            return found[0]
        if not found:
            raise ToolError(f"no definition named '{name}'. {self.suggest(name)}".strip())
        raise ToolError(ambiguity_message(name, found))

    def suggest(self, name: str) -> str:
        """A sentence naming definitions whose names resemble `name`."""
        bare = re.sub(r"@\d+$", "", name.strip())
        path, _, qual = bare.rpartition(":")
        last = qual.rsplit(".", 1)[-1]
        if path and language_of(path) is not None and self.exists(path):
            fs = self.symbols(path)
            quals = [d.qualname for d in fs.definitions] if fs else []
            close = difflib.get_close_matches(qual, quals, n=6, cutoff=0.5)
            close += [q for q in quals if q.rsplit(".", 1)[-1].lower() == last.lower() and q not in close]
            if not close:
                return f"{path} defines: {', '.join(quals[:30]) or 'nothing'}" + (" ..." if len(quals) > 30 else "")
            return "Near names in that file: " + ", ".join(f"{path}:{q}" for q in close[:8])
        index = self.index()
        names = index.names()
        lowered = {n.lower(): n for n in names}
        close = ([lowered[last.lower()]] if last.lower() in lowered and lowered[last.lower()] != last else [])
        close += [n for n in difflib.get_close_matches(last, names, n=5, cutoff=0.6) if n not in close]
        if not close:
            return "Use search to look for it, or find_symbol with another name."
        ids = list(dict.fromkeys(d.id for n in close for d in index.find(n)[:3]))
        return "Near names: " + ", ".join(ids[:10])

    # -- writing ---------------------------------------------------------------------------------
    def commit(self, path: str, new_text: str, old: bytes | None) -> EditResult:
        """Write `new_text` to `path` if the guard accepts it (a ToolError otherwise, the file
        untouched); `old` is the file's current bytes (None: the file is new)."""
        try:
            data = new_text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ToolError(f"the new text cannot be written as UTF-8 ({exc.reason} at character {exc.start})") from None
        if old is not None and data == old:
            raise ToolError(f"the edit changes nothing in {path}: the new text equals the current one")
        verdict = guard.check(path, old, data)
        if not verdict.ok:
            raise ToolError(
                f"Edit refused: it would bring a syntax error into {path} (the file is unchanged).\n"
                + guard.describe_errors(path, new_text, verdict.errors)
                + "\nCorrect the source and call again.")
        self._write(path, data)
        self._history.setdefault(path, []).append(old)
        names = guard.undefined_in(verdict.warnings)
        if names:
            self._warned.append((path, names))
        return EditResult(path, verdict.warnings)

    def take_warned(self) -> list[tuple[str, list[str]]]:
        """The undefined names the edits since the last call were warned of, per file (in order);
        then starts counting anew."""
        warned, self._warned = self._warned, []
        return warned

    def undefined_now(self, path: str) -> set[str] | None:
        """The names the file leaves undefined as it is now (Python; None when it cannot be told:
        the file is gone, too large, or does not compile)."""
        try:
            data = self.read_bytes(path)
        except (ToolError, OSError):
            return None
        return guard.undefined_names(path, data)

    def _write(self, path: str, data: bytes | None) -> None:
        if self._touched is not None:
            self._touched.add(path)
        if data is None:
            res = self.workspace.run(f"rm -f -- {shlex.quote(path)}", 60)
            if res.exit_code != 0:
                raise ToolError(f"could not remove {path}: {res.output.strip()[:200]}")
            self._bytes.pop(path, None)
            self._files = None
        else:
            self.workspace.write_bytes(path, data)
            if path not in self._bytes and self._files is not None and path not in self._files:
                self._files = None
            self._bytes[path] = data
        self._written[path] = data
        self._update_symbols(path, data)

    def undo(self, path: str) -> tuple[bytes | None, int]:
        """Restore `path` as it was before the last edit the tools made to it; returns the restored
        bytes (None: the file was removed because that edit created it) and how many earlier edits
        are left to undo."""
        p = self.rel_for_edit(path)
        stack = self._history.get(p)
        if not stack:
            raise ToolError(f"there is no edit of {p} to undo")
        current = self.read_bytes(p) if self.exists(p) else None
        if current != self._written.get(p):
            raise ToolError(f"{p} changed after the last edit (a command changed it); undo would lose that. "
                            "Use str_replace to change it back instead.")
        previous = stack.pop()
        self._write(p, previous)
        return previous, len(stack)


def decode_for_edit(path: str, data: bytes) -> str:
    if b"\0" in data[:NUL_SNIFF]:
        raise ToolError(f"{path} is a binary file ({len(data)} bytes); the editing tools change text files only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ToolError(f"{path} is not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); the editing "
                        "tools change UTF-8 text only. Use bash to change it if you must.") from None


def match_definitions(definitions: list[Definition], qual: str) -> list[Definition]:
    """The definitions whose qualified name is `qual` or ends with `.qual`."""
    qual = qual.strip()
    return [d for d in definitions if d.qualname == qual or d.qualname.endswith("." + qual)]


def ambiguity_message(name: str, found: list[Definition], limit: int = 15) -> str:
    ids = [d.id for d in found]
    lines = []
    for d in found[:limit]:
        address = f"{d.id}@{d.start_line}" if ids.count(d.id) > 1 else d.id
        lines.append(f"  {address}  ({d.kind}, lines {d.start_line}-{d.end_line})")
    more = f"\n  ... and {len(found) - limit} more" if len(found) > limit else ""
    return (f"'{name}' matches {len(found)} definitions:\n" + "\n".join(lines) + more
            + "\nCall again with one of these names.")
