"""The symbol index: definitions, references and skeletons of a repository's source files.

tree-sitter parses Python, JavaScript, TypeScript (and TSX), Go, Java and Rust. Each definition
has a qualified name (`Class.method`; addressed across the repository as
`path/to/file.py:Class.method`), a kind and a line span that includes its decorators
(attributes, annotations, an `export`). References are the identifier tokens of a file. A
skeleton shows a file in few tokens: signatures, class headers and docstrings, bodies elided.

Parsing is cached persistently by content hash (an SQLite file under the cache directory), so a
second run parses only files that changed, across repositories and commits. Binary, non-UTF-8,
huge and unparsable files never raise: they are skipped (or, with syntax errors, parsed
partially) and counted in the index's stats.
"""

from __future__ import annotations

import bisect
import hashlib
import multiprocessing
import os
import pickle
import re
import sqlite3
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import git
from sandbox.cachedir import cache_dir
from sandbox.workspace import read_regular

PARSER_VERSION = "2"
DEFAULT_MAX_BYTES = 1_000_000
DOC_LINES = 3  # lines of a function's docstring a skeleton keeps

EXTENSIONS = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".java": "java", ".rs": "rust",
}

_ASYNC = re.compile(r"\basync\b")
_IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = frozenset(
    "False None True and as assert async await break class continue def del elif else except finally for "
    "from global if import in is lambda nonlocal not or pass raise return try while with yield self cls "
    "const let var function new this typeof instanceof void delete switch case default do throw catch "
    "export extends implements interface package private protected public static super null undefined "
    "func go defer chan map struct type range select fallthrough goto nil "
    "int long short byte char boolean double float final abstract native synchronized transient volatile "
    "fn impl trait mut pub use mod crate enum match loop where move ref unsafe dyn Self string bool".split())


def language_of(path: str) -> str | None:
    """The language of a file by its extension, or None for files the index does not parse."""
    return EXTENSIONS.get(os.path.splitext(path)[1].lower())


@dataclass(frozen=True)
class Definition:
    """A function, method, class (or struct, interface, enum, trait, impl, type, module) in a file."""

    path: str
    """The file, relative to the repository root."""
    qualname: str
    """Dotted name inside the file: `function`, `Class.method`, `Outer.Inner.method`."""
    kind: str
    """function, method, class, interface, struct, enum, trait, impl, type, module or macro."""
    start_line: int
    """First line (1-based), decorators, annotations, attributes and `export` included."""
    end_line: int
    """Last line (1-based, inclusive)."""
    name_line: int
    """The line of the definition's keyword/name (after its decorators)."""
    start_byte: int
    end_byte: int
    signature: str
    """The definition's header (up to its body), whitespace collapsed."""
    docstring: str | None = None
    is_async: bool = False
    elide: tuple[int, int] | None = None
    """Lines (first, last; 1-based) a skeleton hides: a function's body after its docstring."""

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]

    @property
    def parent(self) -> str | None:
        return self.qualname.rsplit(".", 1)[0] if "." in self.qualname else None

    @property
    def id(self) -> str:
        """`path:qualname`, the address of the definition in the repository."""
        return f"{self.path}:{self.qualname}"


@dataclass
class FileSymbols:
    """What the index knows of one file."""

    path: str
    language: str
    definitions: list[Definition]
    references: Counter
    """Identifier tokens (keywords excluded) and how often each occurs in the file."""
    has_error: bool = False
    """The file has syntax errors; definitions are what tree-sitter could recover."""

    def unlisted_notes(self, shown: list[str]) -> list[str]:
        """What a cut skeleton or outline (`shown`: its line-numbered lines) adds at its end: the notes
        of `unlisted` and `unlisted_methods` that apply."""
        return [note for note in (self.unlisted(shown), self.unlisted_methods(shown)) if note]

    def _not_shown(self, shown: list[str], which) -> list[Definition]:
        """The definitions `which` picks whose first line (or name line) none of `shown` starts with."""
        numbers = {int(m.group(1)) for ln in shown if (m := re.match(r"\s*(\d+)\s", ln))}
        return [d for d in self.definitions if which(d) and d.start_line not in numbers and d.name_line not in numbers]

    def unlisted(self, shown: list[str]) -> str | None:
        """A note naming every top-level definition (function, class) of the file whose first line
        none of the `shown` lines (line-numbered, as skeletons and outlines number them) starts
        with: what a cut skeleton or outline would otherwise hide. None when all are shown."""
        missing = self._not_shown(shown, lambda d: "." not in d.qualname)
        if not missing:
            return None
        names = ", ".join(f"{d.qualname} ({d.start_line})" for d in missing)
        return (f"(not shown above, {len(missing)} top-level definition(s) of {self.path}, with their lines: {names}; "
                f"view_symbol('{self.path}:NAME') shows one)")

    def unlisted_methods(self, shown: list[str], cap: int = 40) -> str | None:
        """A note naming the methods (one level down: a class's functions) that none of the `shown`
        lines starts with, in file order, at most `cap` of them: a cut skeleton of a long class hides
        the very method a model has to choose (sphinx's StandardDomain._resolve_numref_xref). None
        when all are shown."""
        missing = self._not_shown(shown, lambda d: d.qualname.count(".") == 1 and d.kind != "class")
        if not missing:
            return None
        groups: dict[str, list[str]] = {}
        for d in missing[:cap]:
            groups.setdefault(d.parent or d.qualname.split(".")[0], []).append(f"{d.name} ({d.start_line})")
        names = "; ".join(f"{cls}: {', '.join(ms)}" for cls, ms in groups.items())
        more = f", and {len(missing) - cap} more" if len(missing) > cap else ""
        return (f"(methods not shown above, {len(missing)} of {self.path}: {names}{more}; "
                f"view_symbol('{self.path}:CLASS.NAME') shows one)")

    def skeleton(self, text: str, first: int = 1, last: int | None = None) -> str:
        """The file in few tokens (lines first..last): every line with its number, function bodies
        elided to a marker."""
        hidden = {d.elide[0]: d.elide[1] for d in sorted(self.definitions, key=lambda d: d.elide or (0, 0),
                                                          reverse=True) if d.elide}
        lines = text.split("\n")  # "\n" alone ends a line, as for tree-sitter's rows
        if text.endswith("\n"):
            lines.pop()
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
        last = len(lines) if last is None else min(last, len(lines))
        out = []
        i = first
        while i <= last:
            if i in hidden:
                end = min(hidden[i], last)
                indent = re.match(r"\s*", lines[i - 1]).group(0)
                out.append(f"{'':>5} {indent}... (lines {i}-{end})")
                i = end + 1
                continue
            out.append(f"{i:>5} {lines[i - 1]}")
            i += 1
        return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# parsing

_parsers: dict[str, object] = {}
_parsers_lock = threading.Lock()


def _parser(lang: str):
    with _parsers_lock:
        p = _parsers.get(lang)
        if p is None:
            # tree-sitter and each grammar load on first use of a language
            import tree_sitter as ts

            if lang == "python":
                import tree_sitter_python as m

                language = ts.Language(m.language())
            elif lang == "javascript":
                import tree_sitter_javascript as m

                language = ts.Language(m.language())
            elif lang in ("typescript", "tsx"):
                import tree_sitter_typescript as m

                language = ts.Language(m.language_typescript() if lang == "typescript" else m.language_tsx())
            elif lang == "go":
                import tree_sitter_go as m

                language = ts.Language(m.language())
            elif lang == "java":
                import tree_sitter_java as m

                language = ts.Language(m.language())
            elif lang == "rust":
                import tree_sitter_rust as m

                language = ts.Language(m.language())
            else:
                raise ValueError(f"no parser for {lang}")
            p = _parsers[lang] = ts.Parser(language)
        return p


def parse_tree(lang: str, data: bytes):
    """The tree-sitter tree of `data` (thread-safe: one parser per language, used under a lock)."""
    p = _parser(lang)
    with _parsers_lock:
        return p.parse(data)


# node type -> kind, per language family
_PY_DEFS = {"function_definition": "function", "class_definition": "class"}
_PY_CONTAINERS = {"module", "block", "if_statement", "elif_clause", "else_clause", "try_statement",
                  "except_clause", "finally_clause", "with_statement", "for_statement", "while_statement",
                  "decorated_definition", "match_statement", "case_clause", "except_group_clause"}
_JS_DEFS = {"function_declaration": "function", "generator_function_declaration": "function",
            "function_signature": "function", "class_declaration": "class", "abstract_class_declaration": "class",
            "method_definition": "method", "method_signature": "method", "abstract_method_signature": "method",
            "interface_declaration": "interface", "type_alias_declaration": "type", "enum_declaration": "enum",
            "internal_module": "module", "module": "module"}
_JS_CONTAINERS = {"program", "export_statement", "statement_block", "class_body", "interface_body",
                  "lexical_declaration", "variable_declaration", "if_statement", "else_clause",
                  "expression_statement", "ambient_declaration"}
_GO_DEFS = {"function_declaration": "function", "method_declaration": "method", "type_spec": "type"}
_GO_CONTAINERS = {"source_file", "type_declaration"}
_JAVA_DEFS = {"class_declaration": "class", "interface_declaration": "interface", "enum_declaration": "enum",
              "record_declaration": "class", "annotation_type_declaration": "interface",
              "method_declaration": "method", "constructor_declaration": "method"}
_JAVA_CONTAINERS = {"program", "class_body", "interface_body", "enum_body", "enum_body_declarations",
                    "annotation_type_body"}
_RUST_DEFS = {"function_item": "function", "function_signature_item": "function", "struct_item": "struct",
              "enum_item": "enum", "trait_item": "trait", "impl_item": "impl", "mod_item": "module",
              "union_item": "struct", "type_item": "type", "macro_definition": "macro"}
_RUST_CONTAINERS = {"source_file", "declaration_list"}
_FUNCTION_KINDS = {"function", "method"}

_SPEC = {
    "python": (_PY_DEFS, _PY_CONTAINERS),
    "javascript": (_JS_DEFS, _JS_CONTAINERS), "typescript": (_JS_DEFS, _JS_CONTAINERS),
    "tsx": (_JS_DEFS, _JS_CONTAINERS),
    "go": (_GO_DEFS, _GO_CONTAINERS), "java": (_JAVA_DEFS, _JAVA_CONTAINERS), "rust": (_RUST_DEFS, _RUST_CONTAINERS),
}
_JS_FAMILY = ("javascript", "typescript", "tsx")
_JS_FUNCTION_VALUES = {"arrow_function", "function_expression", "function", "generator_function", "class"}
_METHOD_SCOPES = {"class", "interface", "struct", "enum", "trait", "impl"}


def _text(node) -> str:
    return node.text.decode("utf-8", errors="replace")


def _base_type_name(text: str) -> str:
    # `Vec<T>` -> Vec, `&'a mut Foo` -> Foo, `crate::a::B` -> B
    text = re.sub(r"<.*", "", text).replace("&", " ").replace("*", " ")
    text = text.split()[-1] if text.split() else text
    return text.split("::")[-1]


def _go_receiver(node) -> str | None:
    recv = node.child_by_field_name("receiver")
    if recv is None:
        return None
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?\s*\)\s*$", _text(recv))
    return m.group(1) if m else None


def _signature(holder, start, lang: str) -> str:
    """The header of a definition: from `start` up to the body of `holder`, whitespace collapsed."""
    body = holder.child_by_field_name("body")
    if lang == "go" and holder.type == "type_spec":
        body = None
    end = body.start_byte if body is not None else holder.end_byte
    head = start.text[: end - start.start_byte].decode("utf-8", errors="replace")
    head = " ".join(head.split())
    if lang == "python":
        head = head.rstrip(":").rstrip()
    return head[:300]


def _py_docstring(node) -> str | None:
    body = node.child_by_field_name("body")
    if body is None or body.named_child_count == 0:
        return None
    first = body.named_children[0]
    if first.type == "expression_statement" and first.named_child_count == 1 and \
            first.named_children[0].type == "string":
        raw = _text(first.named_children[0])
        m = re.match(r"^[rRbBuUfF]*('''|\"\"\"|'|\")(.*)\1$", raw, re.S)
        return (m.group(2) if m else raw).strip()
    return None


def _leading_comment(node) -> str | None:
    prev = node.prev_named_sibling
    if prev is not None and prev.type in ("comment", "line_comment", "block_comment") and \
            node.start_point.row - prev.end_point.row <= 1:
        txt = _text(prev).strip()
        if txt.startswith("/**") or txt.startswith("///") or txt.startswith("//"):
            return txt
    return None


def _outer(lang: str, node):
    """(first node, whole node) of a definition's span: decorators, attributes and `export` included."""
    outer = node
    parent = node.parent
    if lang == "python" and parent is not None and parent.type == "decorated_definition":
        outer = parent
    if lang in _JS_FAMILY:
        if node.type in _JS_FUNCTION_VALUES and parent is not None:
            # `const f = () => ...;`: the declarator's statement; a class field: the field itself
            outer = parent.parent if parent.type == "variable_declarator" and parent.parent is not None else parent
        if outer.parent is not None and outer.parent.type == "export_statement":
            outer = outer.parent
    first = outer
    if lang in ("rust", *_JS_FAMILY):
        prev = first.prev_named_sibling
        while prev is not None and prev.type in ("attribute_item", "decorator"):
            first = prev
            prev = prev.prev_named_sibling
    return first, outer


def _definition_node(lang: str, node):
    """(kind, name, node holding the body) when `node` defines something, else None.

    Handles the indirect forms: `const f = () => ...` and class fields holding functions (JS/TS),
    Go methods and type specs, Rust impl blocks."""
    defs_spec = _SPEC[lang][0]
    t = node.type
    kind = defs_spec.get(t)
    if kind is not None:
        if lang == "rust" and t == "impl_item":
            ty = node.child_by_field_name("type")
            trait = node.child_by_field_name("trait")
            if ty is None:
                return None
            name = f"impl {_text(trait)} for {_base_type_name(_text(ty))}" if trait is not None else \
                f"impl {_base_type_name(_text(ty))}"
            return kind, name, node
        if lang == "go" and t == "type_spec":
            ty = node.child_by_field_name("type")
            kind = {"struct_type": "struct", "interface_type": "interface"}.get(ty.type if ty else "", "type")
        n = node.child_by_field_name("name")
        return (kind, _text(n), node) if n is not None else None
    if lang in _JS_FAMILY and t in ("variable_declarator", "public_field_definition", "field_definition"):
        value = node.child_by_field_name("value")
        n = node.child_by_field_name("name") or node.child_by_field_name("property")
        if value is not None and n is not None and value.type in _JS_FUNCTION_VALUES:
            return ("class" if value.type == "class" else "function"), _text(n), value
    return None


def extract(lang: str, path: str, data: bytes) -> FileSymbols:
    """Parse one file's bytes (UTF-8 text) into its FileSymbols."""
    tree = parse_tree(lang, data)
    containers = _SPEC[lang][1]
    definitions: list[Definition] = []

    def visit(node, scope: list[str], scope_kinds: list[str]) -> None:
        for child in node.named_children:
            found = _definition_node(lang, child)
            if found is None:
                if child.type in containers:
                    visit(child, scope, scope_kinds)
                continue
            kind, name, holder = found
            own_scope = scope
            if lang == "go" and child.type == "method_declaration":
                recv = _go_receiver(child)
                own_scope = [recv] if recv else scope
            if kind == "function" and scope_kinds and scope_kinds[-1] in _METHOD_SCOPES:
                kind = "method"
            first, outer = _outer(lang, holder)
            body = holder.child_by_field_name("body")
            doc = _py_docstring(holder) if lang == "python" else _leading_comment(first)
            definitions.append(Definition(
                path=path, qualname=".".join([*own_scope, name]), kind=kind,
                start_line=first.start_point.row + 1, end_line=outer.end_point.row + 1,
                name_line=holder.start_point.row + 1, start_byte=first.start_byte, end_byte=outer.end_byte,
                signature=(sig := _signature(holder, outer if holder.type in _JS_FUNCTION_VALUES else holder, lang)),
                docstring=doc, is_async=bool(_ASYNC.search(sig.split("(")[0])),
                elide=_elided_lines(lang, holder, body, doc) if kind in _FUNCTION_KINDS else None))
            if lang == "rust" and child.type == "impl_item":
                inner_scope = [_base_type_name(_text(child.child_by_field_name("type")))]
            else:
                inner_scope = [*own_scope, name]
            if body is not None:
                visit(body, inner_scope, [*scope_kinds, kind])

    visit(tree.root_node, [], [])
    refs = Counter(_IDENT.findall(data))
    references = Counter({k.decode(): v for k, v in refs.items() if k.decode() not in _KEYWORDS})
    return FileSymbols(path=path, language=lang, definitions=definitions, references=references,
                       has_error=tree.root_node.has_error)


def _elided_lines(lang: str, holder, body, doc) -> tuple[int, int] | None:
    """The lines of a function's body that a skeleton hides (1-based, inclusive), if any."""
    if body is None:
        return None
    b0, b1 = body.start_point.row, body.end_point.row
    if lang == "python":
        if b0 == holder.start_point.row:  # `def f(): pass`
            return None
        start = b0
        if doc is not None and body.named_child_count:
            d0, d1 = body.named_children[0].start_point.row, body.named_children[0].end_point.row
            start = min(d1 + 1, d0 + DOC_LINES)  # a long docstring shows its first lines only
        return (start + 1, b1 + 1) if b1 - start >= 1 else None  # hiding one line saves nothing
    return (b0 + 2, b1) if b1 - b0 >= 3 else None  # keep the braces' lines


# ---------------------------------------------------------------------------------------------
# the cache


def content_digest(data: bytes) -> str:
    """The content hash the cache keys on."""
    return hashlib.sha1(data).hexdigest()


class SymbolCache:
    """FileSymbols by content hash, in one SQLite file. Any cache failure just means a re-parse."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else cache_dir() / "symbols.sqlite"
        self._db = None
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=10, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS symbols (key TEXT PRIMARY KEY, data BLOB)")
        except (sqlite3.Error, OSError):
            self._db = None

    @staticmethod
    def key(lang: str, data: bytes, digest: str | None = None) -> str:
        """The entry of a file's symbols: parser version, language and content hash (`digest`, the
        sha1 hex of `data`, when the caller has it already)."""
        return f"{PARSER_VERSION}:{lang}:{digest or content_digest(data)}"

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        if self._db is None or not keys:
            return {}
        out: dict[str, bytes] = {}
        try:
            with self._lock:
                for i in range(0, len(keys), 500):
                    chunk = keys[i:i + 500]
                    q = f"SELECT key, data FROM symbols WHERE key IN ({','.join('?' * len(chunk))})"
                    out.update(self._db.execute(q, chunk).fetchall())
        except sqlite3.Error:
            return out
        return out

    def put_many(self, items: list[tuple[str, bytes]]) -> None:
        if self._db is None or not items:
            return
        try:
            with self._lock, self._db:
                self._db.executemany("INSERT OR REPLACE INTO symbols (key, data) VALUES (?, ?)", items)
        except sqlite3.Error:
            pass

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _pack(fs: FileSymbols) -> bytes:
    defs = [(d.qualname, d.kind, d.start_line, d.end_line, d.name_line, d.start_byte, d.end_byte, d.signature,
             d.docstring, d.is_async, d.elide) for d in fs.definitions]
    return pickle.dumps((fs.language, defs, dict(fs.references), fs.has_error), protocol=5)


def _unpack(path: str, blob: bytes) -> FileSymbols:
    lang, defs, refs, has_error = pickle.loads(blob)
    return FileSymbols(path=path, language=lang,
                       definitions=[Definition(path, *d) for d in defs], references=Counter(refs),
                       has_error=has_error)


# ---------------------------------------------------------------------------------------------
# the index


@dataclass
class IndexStats:
    """What happened to each file when the index was built."""

    files: int = 0
    """Source files seen (by extension)."""
    parsed: int = 0
    """Parsed in this build."""
    cached: int = 0
    """Taken from the cache."""
    partial: int = 0
    """Parsed with syntax errors (definitions are what could be recovered)."""
    skipped_binary: int = 0
    skipped_non_utf8: int = 0
    skipped_huge: int = 0
    skipped_unreadable: int = 0
    definitions: int = 0
    by_language: dict = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        return self.skipped_binary + self.skipped_non_utf8 + self.skipped_huge + self.skipped_unreadable


class SymbolIndex:
    """Definitions of a repository, by file and by name."""

    def __init__(self, files: dict[str, FileSymbols], stats: IndexStats):
        self.files = files
        self.stats = stats
        self._by_name: dict[str, list[Definition]] = {}
        for fs in files.values():
            for d in fs.definitions:
                self._by_name.setdefault(d.name, []).append(d)

    def definitions(self):
        for fs in self.files.values():
            yield from fs.definitions

    def names(self) -> list[str]:
        return list(self._by_name)

    def find(self, name: str) -> list[Definition]:
        """Definitions matching `name`: `function`, `Class.method` (a dotted suffix of the qualified
        name), or `path/to/file.py:Class.method`; a bare path suffix before the colon is enough."""
        name = name.strip()
        path = None
        if ":" in name:
            path, _, name = name.rpartition(":")
            path = path.strip().lstrip("./")
        last = name.rsplit(".", 1)[-1]
        out = []
        for d in self._by_name.get(last, []):
            if d.qualname != name and not d.qualname.endswith("." + name):
                continue
            if path and d.path != path and not d.path.endswith("/" + path):
                continue
            out.append(d)
        return out

    def enclosing(self, path: str, line: int, kinds: set[str] | None = None) -> Definition | None:
        """The innermost definition in `path` whose span holds `line` (1-based)."""
        fs = self.files.get(path)
        best = None
        if fs is None:
            return None
        for d in fs.definitions:
            if d.start_line <= line <= d.end_line and (kinds is None or d.kind in kinds):
                if best is None or (d.end_line - d.start_line) <= (best.end_line - best.start_line):
                    best = d
        return best

    def skeleton(self, path: str, text: str) -> str | None:
        """The skeleton of `path` given its current text (None when the file is not indexed)."""
        fs = self.files.get(path)
        return fs.skeleton(text) if fs is not None else None

    def replace_file(self, path: str, fs: FileSymbols | None) -> None:
        """Put `fs` in place of what the index holds for `path` (None: drop the file), in place.

        The index then answers as one built afresh would: files stay in path order, and each
        name's definitions in path order, then in the file's own order. Costs one file's worth.
        """
        old = self.files.get(path)
        for name in {d.name for d in old.definitions} if old is not None else ():
            same = [d for d in self._by_name.get(name, ()) if d.path != path]
            if same:
                self._by_name[name] = same
            else:
                self._by_name.pop(name, None)
        if fs is None:
            self.files.pop(path, None)
            return
        resort = old is None and bool(self.files) and path < next(reversed(self.files))
        self.files[path] = fs
        if resort:  # a new file inside the order
            self.files = dict(sorted(self.files.items()))
        for d in fs.definitions:
            same = self._by_name.setdefault(d.name, [])
            same.insert(bisect.bisect_right(same, path, key=lambda x: x.path), d)


def _classify(path: str, data: bytes, max_bytes: int) -> str | None:
    """None when the file can be parsed, else the stats field that counts why not."""
    if len(data) > max_bytes:
        return "skipped_huge"
    if b"\0" in data[:8192]:
        return "skipped_binary"
    if data.isascii():
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "skipped_non_utf8"
    return None


def admit_sources(files: dict[str, bytes | None], max_bytes: int = DEFAULT_MAX_BYTES
                  ) -> tuple[IndexStats, list[tuple[str, str, bytes]]]:
    """The files worth parsing as (path, language, data), and the stats that count the others:
    files of no known language are ignored; unreadable, huge, binary and non-UTF-8 ones counted."""
    stats = IndexStats()
    todo: list[tuple[str, str, bytes]] = []
    for path, data in files.items():
        lang = language_of(path)
        if lang is None:
            continue
        stats.files += 1
        if data is None:
            stats.skipped_unreadable += 1
            continue
        why = _classify(path, data, max_bytes)
        if why:
            setattr(stats, why, getattr(stats, why) + 1)
            continue
        todo.append((path, lang, data))
    return stats, todo


def _parse_job(item: tuple[str, str, bytes]) -> tuple[str, bytes]:
    path, lang, data = item
    return path, _pack(extract(lang, path, data))


def build_index(source, *, cache: SymbolCache | bool | None = True, max_bytes: int = DEFAULT_MAX_BYTES,
                workers: int | None = None, paths: list[str] | None = None,
                digests: dict[str, str] | None = None) -> SymbolIndex:
    """Index a repository: `source` is a Workspace, a directory (a git repository or any folder),
    or a dict of {path: bytes}. `paths` limits the files; `cache=False` parses everything anew.
    Parsing spreads over `workers` processes when many files need it (default: the CPU count).
    `digests` ({path: content_digest}) spares hashing files the caller has hashed already."""
    files = read_sources(source, paths)
    digests = digests or {}
    stats, todo = admit_sources(files, max_bytes)
    keys: dict[str, str] = {}
    store = SymbolCache() if cache is True else (cache or None)
    if store is not None:
        for path, lang, data in todo:
            keys[path] = SymbolCache.key(lang, data, digests.get(path))
        hits = store.get_many(list(set(keys.values())))
    else:
        hits = {}
    out: dict[str, FileSymbols] = {}
    misses: list[tuple[str, str, bytes]] = []
    for item in todo:
        blob = hits.get(keys.get(item[0], ""))
        if blob is not None:
            try:
                out[item[0]] = _unpack(item[0], blob)
                stats.cached += 1
                continue
            except Exception:
                pass
        misses.append(item)
    new_blobs: list[tuple[str, bytes]] = []
    for path, blob in _parse_all(misses, workers):
        if blob is None:
            stats.skipped_unreadable += 1
            continue
        out[path] = _unpack(path, blob)
        stats.parsed += 1
        if path in keys:
            new_blobs.append((keys[path], blob))
    if store is not None:
        store.put_many(new_blobs)
        if cache is True:
            store.close()
    for fs in out.values():
        stats.partial += fs.has_error
        stats.definitions += len(fs.definitions)
        stats.by_language[fs.language] = stats.by_language.get(fs.language, 0) + 1
    return SymbolIndex(dict(sorted(out.items())), stats)


def _parse_all(items: list[tuple[str, str, bytes]], workers: int | None):
    # big files first so that the processes finish together
    ordered = sorted(items, key=lambda it: -len(it[2]))
    return parallel_map(_safe_parse_job, ordered, sum(len(d) for _, _, d in items), workers)


def parallel_map(fn, items: list, total_bytes: int, workers: int | None = None, *,
                 min_items: int = 64, min_bytes: int = 2_000_000) -> list:
    """`[fn(x) for x in items]` over `workers` processes (default: the CPU count) when the work is big
    enough to pay for them (`min_items` items and `min_bytes` bytes), else in this process. `fn` must
    be a module-level function; results come in the order of `items`."""
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(items) >= min_items and total_bytes >= min_bytes:
        ctx = multiprocessing.get_context("fork") if hasattr(os, "fork") else None
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                return list(pool.map(fn, items, chunksize=max(1, min(16, len(items) // (workers * 8)))))
        except (OSError, RuntimeError):
            pass
    return [fn(item) for item in items]


def _safe_parse_job(item):
    try:
        return _parse_job(item)
    except Exception:  # a parser failure on one file must not end the index
        return item[0], None


def read_sources(source, paths: list[str] | None = None) -> dict[str, bytes | None]:
    """{path: bytes} of the source files (by extension) of a Workspace, a directory or a dict;
    None for a file that is not read: a symbolic link (one could lead out of the repository, to a
    device or to a loop), a directory, a device or FIFO, a file over MAX_READ_BYTES, no permission."""
    if isinstance(source, dict):
        return {p: d for p, d in source.items() if paths is None or p in paths}
    if isinstance(source, (str, os.PathLike)):
        root = Path(source)
        if paths is None:
            paths = _list_dir_sources(root)
        out: dict[str, bytes | None] = {}
        base = str(root) + os.sep
        for p in paths:
            if language_of(p) is None:
                continue
            try:
                out[p] = read_regular(base + p, follow=False)
            except OSError:
                out[p] = None
        return out
    # a Workspace
    listed = source.list_files() if paths is None else paths
    wanted = [p for p in listed if language_of(p) is not None]
    got = source.read_many(wanted)
    return {p: got.get(p) for p in wanted}


def _list_dir_sources(root: Path) -> list[str]:
    listed = git.list_files(root)
    if listed is not None:
        return listed
    found = []
    base = str(root).rstrip(os.sep) + os.sep
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("node_modules", "__pycache__")]
        rel = dirpath[len(base):].replace(os.sep, "/") + "/" if dirpath != str(root) else ""
        found.extend(rel + f for f in filenames)
    return found
