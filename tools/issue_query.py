"""What an issue says about where to look: the identifiers it names, the paths and modules it
mentions, the frames of its stack traces, and a weighted bag of search terms.

Markdown structure matters: code (fenced blocks, `inline`, `>>>` lines) names real identifiers;
the title is the densest line; pip listings, environment reports and template boilerplate are
noise and are dropped before anything is counted.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from .corpus import STOPWORDS, word_terms
from .symbols import _KEYWORDS, EXTENSIONS

MAX_CHARS = 100_000
FRAME_DECAY = 0.6  # a frame one level further from the innermost counts this much less  # an issue longer than this is read at its head and its tail

_EXT = "|".join(sorted((e.lstrip(".") for e in EXTENSIONS), key=len, reverse=True))
_PATH = re.compile(rf"(?<![\w/.-])((?:[\w.-]+/)*[\w-][\w.-]*\.(?:{_EXT}))(?![\w/])")
_DOTTED = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)(?:^\1[ \t]*$|\Z)", re.S | re.M)
_INLINE = re.compile(r"`([^`\n]+)`")
_PROMPT = re.compile(r"^\s*(?:>>>|\.\.\.|In \[\d+\]:|\$)\s?(.*)$", re.M)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_URL = re.compile(r"https?://\S+")
_BLOB = re.compile(r"/(?:blob|tree)/[^/\s]+/([^\s#?)\]>]+)")
_PIP_LINE = re.compile(r"^\s*[A-Za-z0-9][\w.\-\[\]]*\s+v?\d+(?:\.\w+)+\S*(?:\s+\S+)?\s*$")
_NOISE_LINE = re.compile(r"^\s*(?:platform |cachedir:|rootdir:|plugins:|configfile:|collected \d|"
                         r"collecting \.\.\.|={5,}|-{5,}|#+ ?(?:versions?|environment)\b)", re.I)
# frames: Python tracebacks, pytest's short form, JS/TS, Java, Go and Rust
_PY_FRAME = re.compile(r'File "([^"]+)", line (\d+)(?:, in ([\w<>.]+))?')
_PYTEST_FRAME = re.compile(r"^\s*([\w./\\-]+\.(?:py|pyi)):(\d+):(?: in ([\w<>]+))?", re.M)
_JS_FRAME = re.compile(rf"\bat (?:([\w$.<>]+) )?\(?((?:[A-Za-z]:)?[^\s():]+\.(?:{_EXT})):(\d+)(?::\d+)?\)?")
_JAVA_FRAME = re.compile(r"\bat ([\w$.]+)\.([\w$<>]+)\(([\w$]+\.java):(\d+)\)")
_GO_FRAME = re.compile(r"^\s*((?:[A-Za-z]:)?/?[^\s:]+\.go):(\d+)", re.M)
_CAMEL = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2,}[a-z]")
# command-line options and configuration keys are written `--ignore-paths` or `ignore-paths` and read
# in code as `ignore_paths`
_KEBAB = re.compile(r"(?<![\w-])(?:--)?([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+)(?![\w-])")
_OPTION = re.compile(r"(?<![\w-])--([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)")


@dataclass(frozen=True)
class Frame:
    """One frame of a stack trace in the issue; `order` grows toward the innermost frame."""

    path: str
    line: int | None
    function: str | None
    order: int


@dataclass
class IssueQuery:
    """The issue, read for localization."""

    title: str
    terms: dict[str, float] = field(default_factory=dict)
    """Search term -> weight (BM25 query)."""
    identifiers: dict[str, float] = field(default_factory=dict)
    """Identifier-like word as written -> weight: how strongly the issue points at it."""
    code_names: frozenset[str] = frozenset()
    """The identifiers that are surely code: written in code, or shaped like code (`snake_case`,
    `CamelCase`, called, after a dot) anywhere."""
    paths: list[str] = field(default_factory=list)
    """File paths as written in the issue (normalised: forward slashes, no leading `./`)."""
    dotted: list[str] = field(default_factory=list)
    """Dotted names (`pkg.module.Class.method`), which may name modules."""
    frames: list[Frame] = field(default_factory=list)
    title_words: frozenset[str] = frozenset()
    """The lowercased words of the title."""
    title_terms: dict[str, float] = field(default_factory=dict)
    """The search terms of the title alone."""
    messages: list[str] = field(default_factory=list)
    """Literal pieces of the error and warning messages the issue quotes (`ValueError: ...`),
    long enough to search the repository's files for."""
    options: list[str] = field(default_factory=list)
    """The `--long-options` the issue writes, as written (the code that declares one spells it so)."""
    dunders: frozenset[str] = frozenset()
    """Special methods the issue exercises: named (`__eq__`), called through a builtin in its code
    (`str(x)` -> `__str__`), written as an operator (`a @ b` -> `__matmul__`), or named in prose
    ("the repr")."""
    constructed: frozenset[str] = frozenset()
    """CamelCase names the issue's code calls (`Intersection(...)`): classes it constructs."""
    said: frozenset[str] = frozenset()
    """The words of the title and the prose (code and tracebacks excluded), as written."""
    own_methods: dict[str, frozenset[str]] = field(default_factory=dict)
    """Special methods the issue's code defines (`def __init__(self, x)`) -> the classes it defines
    them in (`""`: at top level). In a class of the reporter's own, the method is theirs: it names
    no function of the repository (`resolve` tells whose the class is)."""

    @classmethod
    def parse(cls, text: str) -> IssueQuery:
        if len(text) > MAX_CHARS:
            text = text[: MAX_CHARS * 3 // 4] + "\n" + text[-MAX_CHARS // 4:]
        text = text.replace("\r\n", "\n")
        frames = _frames(text)
        # a frame's path and line number are not words of the issue; its function name is
        text = _PY_FRAME.sub(lambda m: f" {m.group(3) or ''} ", text)
        text = _PYTEST_FRAME.sub(lambda m: f" {m.group(3) or ''} ", text)
        text = _COMMENT.sub(" ", text)
        lines = [ln for ln in text.split("\n") if not _PIP_LINE.match(ln) and not _NOISE_LINE.match(ln)]
        title = next((ln.strip() for ln in lines if ln.strip()), "")
        body = "\n".join(lines)
        urls = _URL.findall(body)
        paths = list(dict.fromkeys(_paths(body) + [m.group(1) for u in urls if (m := _BLOB.search(u))]))
        prose = _URL.sub(" ", body)
        code_parts = [m.group(2) for m in _FENCE.finditer(prose)]
        prose_only = _FENCE.sub(" ", prose)
        code_parts += _INLINE.findall(prose_only) + _PROMPT.findall(prose_only)
        code = "\n".join(code_parts)
        q = cls(title=title, paths=paths, frames=frames,
                title_words=frozenset(w.lower() for w in _IDENT.findall(title)))
        q.dotted = list(dict.fromkeys(m.group(1) for m in _DOTTED.finditer(body) if not _is_noise_dotted(m.group(1))))
        # the words of `--long-options` and `hyphenated-keys` are not names on their own (their snake_case
        # forms are added below)
        q.identifiers, q.code_names = _identifiers(_OPTION.sub(" ", title), _OPTION.sub(" ", prose_only),
                                                   _KEBAB.sub(" ", code), frames)
        q.messages = _messages(body)
        q.options = [f"--{m}" for m in dict.fromkeys(_OPTION.findall(prose_only + "\n" + code)) if len(m) >= 4][:6]
        q.dunders, q.constructed = _special_methods(title + "\n" + prose_only, code)
        q.own_methods = _defined_specials(code)
        q.said = frozenset(_IDENT.findall(title + "\n" + prose_only))
        q.terms = _terms(title, prose_only, code, urls)
        for name, w in _kebab_names(code, prose_only).items():
            q.identifiers[name] = q.identifiers.get(name, 0.0) + w
            q.code_names = q.code_names | {name}
            q.terms[name.lower()] = q.terms.get(name.lower(), 0.0) + w
        q.title_terms = _terms(title, "", "", [])
        return q


def _is_noise_dotted(name: str) -> bool:
    head = name.split(".", 1)[0]
    return head in ("self", "cls", "e", "www", "np") or name.replace(".", "").isdigit()


def _paths(text: str) -> list[str]:
    out = []
    for m in _PATH.finditer(text):
        p = m.group(1).replace("\\", "/")
        while p.startswith("./"):
            p = p[2:]
        out.append(p)
    return list(dict.fromkeys(out))


def _frames(text: str) -> list[Frame]:
    found: list[tuple[int, Frame]] = []
    for m in _PY_FRAME.finditer(text):
        found.append((m.start(), Frame(m.group(1), int(m.group(2)), m.group(3), 0)))
    for m in _PYTEST_FRAME.finditer(text):
        found.append((m.start(), Frame(m.group(1), int(m.group(2)), m.group(3), 0)))
    for m in _JS_FRAME.finditer(text):
        fn = m.group(1).rsplit(".", 1)[-1] if m.group(1) else None
        found.append((m.start(), Frame(m.group(2), int(m.group(3)), fn, 0)))
    for m in _JAVA_FRAME.finditer(text):
        pkg = m.group(1).rsplit(".", 1)[0].replace(".", "/")
        found.append((m.start(), Frame(f"{pkg}/{m.group(3)}", int(m.group(4)), m.group(2), 0)))
    for m in _GO_FRAME.finditer(text):
        found.append((m.start(), Frame(m.group(1), int(m.group(2)), None, 0)))
    found.sort(key=lambda x: x[0])
    # Java, JS and Go list the innermost frame first; Python and pytest last
    out = []
    for i, (_, f) in enumerate(found):
        inner_first = f.path.endswith((".java", ".go", ".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs"))
        out.append(Frame(f.path.replace("\\", "/"), f.line, f.function, -i if inner_first else i))
    return out


_MESSAGE = re.compile(r"^\W*(?:[\w.]+\.)?\w*(?:Error|Exception|Warning|Exit)\s*:\s*(.{8,})$", re.M)
_MESSAGE_SPLIT = re.compile(r"['\"`]|\d+|\{[^}]*\}|%\w|<[^>]*>")
# CPython's own messages: quoted in issues, they point at no file of the repository
_BUILTIN_MESSAGES = re.compile(r"object has no attribute|index out of range|unsupported operand|not supported "
                               r"between|object is not|positional argument|unexpected keyword|recursion depth|"
                               r"division by zero|invalid syntax|EOF while parsing|No module named|"
                               r"object cannot be interpreted|is not defined|not enough values|too many values|"
                               r"must be str|can only concatenate|codec can't", re.I)


def _messages(text: str) -> list[str]:
    out = []
    for m in _MESSAGE.finditer(text):
        for piece in _MESSAGE_SPLIT.split(m.group(1)):
            piece = piece.strip(" .:,;()[]")
            if len(piece) >= 12 and len(piece.split()) >= 2 and not _BUILTIN_MESSAGES.search(piece):
                out.append(piece)
    return list(dict.fromkeys(out))[:12]


_BUILTIN_DUNDERS = {"str": ("__str__", "__repr__"), "repr": ("__repr__",), "len": ("__len__",),
                    "hash": ("__hash__",), "iter": ("__iter__",), "bool": ("__bool__",), "abs": ("__abs__",),
                    "int": ("__int__", "__index__"), "float": ("__float__",), "format": ("__format__",),
                    "dir": ("__dir__",), "reversed": ("__reversed__",), "next": ("__next__",),
                    "copy": ("__copy__",), "deepcopy": ("__deepcopy__",), "round": ("__round__",)}
_PROSE_DUNDERS = {"repr": ("__repr__", "__str__"), "representation": ("__repr__", "__str__"),
                  "equality": ("__eq__",), "hashable": ("__hash__",), "unhashable": ("__hash__",),
                  "pickle": ("__reduce__", "__getstate__", "__setstate__"),
                  "pickling": ("__reduce__", "__getstate__", "__setstate__"),
                  "unpickling": ("__reduce__", "__getstate__", "__setstate__")}
_OPERATORS = ((re.compile(r"[\w)\]]\s*==\s*[\w(\[]"), ("__eq__",)),
              (re.compile(r"[\w)\]]\s*!=\s*[\w(\[]"), ("__ne__", "__eq__")),
              (re.compile(r"[\w)\]] *@ *[\w(\[]"), ("__matmul__", "__rmatmul__")),
              (re.compile(r"[\w)\]]\s*\*\*\s*[-\w(\[]"), ("__pow__", "__rpow__")))
_DUNDER = re.compile(r"\b__[a-z][a-z0-9_]*__\b(?!\.\w)")  # not `__init__.py`, a file
_BUILTIN_CALL = re.compile(r"(?<![\w.])(" + "|".join(_BUILTIN_DUNDERS) + r")\(")
_CONSTRUCT = re.compile(r"(?<![\w.])([A-Z][A-Za-z0-9_]*[a-z][A-Za-z0-9_]*)\(")


def _special_methods(prose: str, code: str) -> tuple[frozenset[str], frozenset[str]]:
    """(the special methods the issue exercises, the CamelCase names its code calls)."""
    out: set[str] = set(_DUNDER.findall(prose + "\n" + code))
    for m in _BUILTIN_CALL.finditer(code):
        out.update(_BUILTIN_DUNDERS[m.group(1)])
    for pattern, names in _OPERATORS:
        if pattern.search(code):
            out.update(names)
    words = {w.lower() for w in _IDENT.findall(prose)}
    for w, names in _PROSE_DUNDERS.items():
        if w in words:
            out.update(names)
    return frozenset(out), frozenset(_CONSTRUCT.findall(code))


_CLASS_DEF = re.compile(r"^([ \t]*)class\s+([A-Za-z_]\w*)", re.M)
_SPECIAL_DEF = re.compile(r"^([ \t]*)(?:async\s+)?def\s+(__[a-z][a-z0-9_]*__)\s*\(", re.M)


def _defined_specials(code: str) -> dict[str, frozenset[str]]:
    """{special method the code defines: the classes it is defined in}; a `def` belongs to the last
    `class` above it that is indented less ("" when there is none)."""
    classes = [(m.start(), len(m.group(1).expandtabs()), m.group(2)) for m in _CLASS_DEF.finditer(code)]
    out: dict[str, set[str]] = defaultdict(set)
    for m in _SPECIAL_DEF.finditer(code):
        indent = len(m.group(1).expandtabs())
        owner = ""
        for at, ci, name in classes:
            if at < m.start() and ci < indent:
                owner = name
        out[m.group(2)].add(owner)
    return {k: frozenset(v) for k, v in out.items()}


def _kebab_names(code: str, prose: str) -> dict[str, float]:
    """`snake_case` names of the hyphenated words written in code (`ignore-paths`) and of the
    `--long-options` written anywhere, weighted like an identifier in code (1 + log of the count)."""
    counts: dict[str, int] = defaultdict(int)
    found = [m.group(1) for m in _KEBAB.finditer(code)]
    found += [m.group(1) for m in _OPTION.finditer(prose)]
    for word in found:
        if len(word) <= 40 and not any(p.isdigit() for p in word.split("-")):
            counts[word.replace("-", "_")] += 1
    return {name: 1.0 + math.log(c) for name, c in counts.items()}


def _identifiers(title: str, prose: str, code: str, frames: list[Frame]) -> tuple[dict[str, float], frozenset]:
    """Identifiers the issue names, weighted: in the title x3, in code x1.5, a code-like shape
    (`snake_case`, `CamelCase`, called, dotted) x2; repeated mentions add with diminishing returns.
    Also the set of those that are surely code."""
    score: dict[str, float] = defaultdict(float)
    code_names: set[str] = set()

    def add(text: str, base: float) -> None:
        for m in _IDENT.finditer(text):
            word = m.group(0)
            if len(word) < 2 or word.isdigit() or word.lower() in STOPWORDS or word in _KEYWORDS:
                continue
            end = m.end()
            shaped = "_" in word.strip("_") or _CAMEL.search(word) is not None or \
                text[end:end + 1] == "(" or (m.start() > 0 and text[m.start() - 1] == ".")
            score[word] += base * (2.0 if shaped else 1.0)
            if shaped or is_code:
                code_names.add(word)

    is_code = False
    add(title, 3.0)
    add(prose, 1.0)
    is_code = True
    add(code, 1.5)
    for f in frames:
        if f.function and f.function.isidentifier():
            score[f.function] += 1.0
    return {w: 1.0 + math.log(s) for w, s in score.items() if s > 0}, frozenset(code_names)


# the words of code blocks (reproductions, tracebacks) count less than prose: they repeat setup
# (`import`, `symbols`, `print`) more than they name what is wrong
# a word hyphenated in prose ("re-writer", "sub-command", "built-in") as code spells it: joined
_HYPHENATED = re.compile(r"(?<![\w-])([A-Za-z]{2,12})-([A-Za-z]{2,12})(?![\w-])")
TERM_WEIGHTS = {"title": 3.0, "prose": 1.0, "code": 0.6, "urls": 0.5}


def _terms(title: str, prose: str, code: str, urls: list[str]) -> dict[str, float]:
    counts: dict[str, float] = defaultdict(float)
    tw = TERM_WEIGHTS
    for text, w in ((title, tw["title"]), (prose, tw["prose"]), (code, tw["code"]), (" ".join(urls), tw["urls"])):
        for word in _IDENT.findall(text):
            if word not in _KEYWORDS:
                for t in word_terms(word):
                    counts[t] += w
    for text, w in ((title, tw["title"]), (prose, tw["prose"])):
        for m in _HYPHENATED.finditer(text):  # "re-writer" is spelt `rewriter` in code
            counts[m.group(1).lower() + m.group(2).lower()] += w
    return {t: 1.0 + math.log(c) if c >= 1 else c for t, c in counts.items()}


# ---------------------------------------------------------------------------------------------
# mentions resolved against a repository


@dataclass
class Mentions:
    """The issue's pointers resolved to the repository's files."""

    files: dict[str, float] = field(default_factory=dict)
    """Files named by path or by dotted module name -> strength (1: unambiguous)."""
    packages: dict[str, float] = field(default_factory=dict)
    """Folders of the packages the issue names (`sympy.physics.units` -> `sympy/physics/units/`)."""
    frames: dict[str, float] = field(default_factory=dict)
    """Files in the stack traces -> strength (1: the innermost frame in the repository)."""
    frame_functions: dict[str, dict[str, float]] = field(default_factory=dict)
    """path -> {function named in a frame of that file: strength}."""
    defines: dict[str, float] = field(default_factory=dict)
    """Files defining identifiers the issue names -> the summed, shared weight of those names."""
    names: dict[str, float] = field(default_factory=dict)
    """Identifiers the issue names that the repository defines -> weight (rarer definitions weigh
    more)."""
    own_methods: frozenset[str] = frozenset()
    """Special methods the issue's code defines only in classes of the reporter's own (classes the
    repository does not define): `def __init__` in the reporter's example class is no pointer to
    the repository's constructors."""


def resolve_path(written: str, corpus) -> list[str]:
    """The files a path written in an issue can mean: the file itself, or the files whose path
    ends with it, or (for an absolute path from another machine) the longest trailing part of it
    that is a path in the repository."""
    written = written.strip().replace("\\", "/").lstrip("/")
    if written in corpus.files:
        return [written]
    stem = written.rsplit(".", 1)[0]
    parts = stem.split("/")
    sufs = corpus.suffixes()
    ext = "." + written.rsplit(".", 1)[-1] if "." in written.rsplit("/", 1)[-1] else ""
    for i in range(len(parts)):
        hits = [p for p in sufs.get("/".join(parts[i:]), []) if not ext or p.endswith(ext) or
                p.endswith("/__init__" + ext)]
        if hits:
            return hits
    return []


_CLASS_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "type"})
_DEST = re.compile(rb"""\bdest\s*=\s*["']([A-Za-z_]\w*)["']""")
_NEXT_OPTION = re.compile(rb"""\(\s*["']--?\w""")  # the next declaration: a call opening on an option


def option_destinations(options: list[str], corpus, paths: list[str]) -> dict[str, str]:
    """{name: option}: the names under which the code declaring an option the issue writes stores
    it (`addoption("--fixtures", dest="showfixtures")`: the code that acts on `--fixtures` reads
    `showfixtures`). The `dest=` of the same declaration only: before the next call that opens on an option."""
    out: dict[str, str] = {}
    for opt in options:
        needles = [q + opt.encode() + q for q in (b'"', b"'")]
        for p in paths:
            data = corpus.files[p]
            for needle in needles:
                at = data.find(needle)
                while at >= 0:
                    seg = data[at + len(needle): at + len(needle) + 400]
                    nxt = _NEXT_OPTION.search(seg)
                    m = _DEST.search(seg, 0, nxt.start() if nxt else len(seg))
                    if m:
                        out.setdefault(m.group(1).decode(), opt)
                    at = data.find(needle, at + 1)
    return out


def resolve(query: IssueQuery, corpus, definers: dict[str, list[tuple[int, str]]], paths: list[str],
            df=None) -> Mentions:
    """Resolve `query`'s paths, dotted names, frames and identifiers against `corpus`; `definers`,
    `paths` and `df` (search term -> how many files hold it) come from its lexical index."""
    out = Mentions()
    sufs = corpus.suffixes()
    for written in query.paths:
        hits = resolve_path(written, corpus)
        for p in hits:
            out.files[p] = max(out.files.get(p, 0.0), 1.0 / len(hits))
    for name in query.dotted:
        parts = name.split(".")
        if parts[-1] in EXTENSIONS or "." + parts[-1] in EXTENSIONS:
            continue
        for k in range(len(parts), 1, -1):  # one component alone (`sympy.Symbol`) names no module
            hits = sufs.get("/".join(parts[:k]), [])
            if hits and len(hits) <= 3:
                for p in hits:
                    out.files[p] = max(out.files.get(p, 0.0), 1.0 / len(hits))
                    if p.endswith("/__init__.py") or p.endswith("/__init__.pyi"):
                        out.packages[p.rsplit("/", 1)[0] + "/"] = 1.0 / len(hits)
                break
    inner = sorted({f.order for f in query.frames}, reverse=True)
    rank_of = {o: i for i, o in enumerate(inner)}
    for f in query.frames:
        hits = resolve_path(f.path, corpus)
        if len(hits) != 1:
            continue
        # a frame whose function the reporter names in words ("`__eq__` evaluates reprs") is the one
        # they blame: as strong as the innermost
        strength = 1.0 if f.function and f.function in query.said else FRAME_DECAY ** rank_of[f.order]
        p = hits[0]
        out.frames[p] = max(out.frames.get(p, 0.0), strength)
        if f.function:
            fn = out.frame_functions.setdefault(p, {})
            fn[f.function] = max(fn.get(f.function, 0.0), strength)
    # frames deeper than the repository's own (in the standard library, say) do not count: renormalise
    if out.frames:
        top = max(out.frames.values())
        out.frames = {p: v / top for p, v in out.frames.items()}
    n = max(len(paths), 1)
    identifiers = dict(query.identifiers)
    code_names = set(query.code_names)
    for dest, opt in option_destinations(query.options, corpus, paths).items():
        snake = opt.lstrip("-").replace("-", "_")
        identifiers[dest] = max(identifiers.get(dest, 0.0), query.identifiers.get(snake, 1.0))
        code_names.add(dest)
    repo_classes = {c for cs in query.own_methods.values() for c in cs
                    if any(kw in _CLASS_KINDS for _, kw in definers.get(c, ()))}
    out.own_methods = frozenset(m for m, classes in query.own_methods.items()
                                if m not in query.title_words and not classes & repo_classes)
    for ident, w in identifiers.items():
        found = definers.get(ident)
        if not found or ident in out.own_methods:
            continue
        files = {i for i, _ in found}
        # a name many files use (`Symbol`, `get`) says less than a rare one (`apart`); counted as
        # the index spells its terms (`__init__` as `init`)
        term = word_terms(ident)
        idf = math.log(1 + n / max(1, df(term[0]) if df and term else len(files)))
        weight = w * idf
        out.names[ident] = weight * (1.0 if ident in code_names else 0.5) / math.sqrt(len(files))
        if ident not in code_names:
            continue
        for i, kw in found:
            boost = 1.0 if kw in _CLASS_KINDS else 0.8
            p = paths[i]
            out.defines[p] = out.defines.get(p, 0.0) + weight * boost / len(files)
    return out
