"""A repository's source files read once, with a cheap lexical record of each.

Ranking a whole repository against an issue needs, for every file, only the identifiers it uses
and the names it defines. Those come from a byte-level scan (a translate and a split, no parser)
that runs several times faster than tree-sitter; tree-sitter parses only the files ranking asks
about (`Corpus.symbols`). Both are cached by content hash in the symbol cache, so a second run
reads every record from one SQLite file.

Test files are left out of the scan by default (`scan_tests=False`): a fix lives in the code
under test, and tests are a third of a typical repository's bytes.
"""

from __future__ import annotations

import functools
import marshal
import re
from collections import Counter
from dataclasses import dataclass

from sandbox.testfiles import is_test_path

from .symbols import (
    _KEYWORDS,
    DEFAULT_MAX_BYTES,
    IndexStats,
    SymbolCache,
    SymbolIndex,
    admit_sources,
    build_index,
    content_digest,
    language_of,
    parallel_map,
    read_sources,
)

LEX_VERSION = "1"  # of the per-file records
INDEX_VERSION = "2"  # of the whole-repository index

# every byte that cannot be part of an identifier becomes a space, so `bytes.split()` yields words
_WORD_BYTES = bytes(b if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122 or b == 95) else 32
                    for b in range(256))
_OTHER_DEF = re.compile(rb"\b(class|interface|struct|enum|trait|type|function|func|fn|def)[ \t]+"
                        rb"(?:\([^)\n]*\)[ \t]*)?([A-Za-z_]\w*)")


_SUBWORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren as at be because been before being below
between both but by can cannot could did didn do does doesn doing don down during each few for from further
had has have having he her here hers herself him himself his how i if in into is isn it its itself just let
ll me more most my myself no nor not now of off on once only or other ought our ours ourselves out over own
re same she should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was wasn we were weren what when where which while who whom why will with
won would you your yours yourself yourselves ve get got gets use used using like want way one two make made
see seems seem still even much many well thing things think know need needs lot sure thanks thank please
hi hello example e g eg etc via should would might may must shall yes ok okay really actually just
""".split())


@functools.lru_cache(maxsize=300_000)
def word_terms(word: str) -> tuple[str, ...]:
    """The search terms of one word or identifier: itself lowercased and, when it is compound
    (`snake_case`, `CamelCase`), its parts: `_print_Derivative` -> print_derivative, print, derivative."""
    low = word.lower().strip("_")
    if len(low) < 2 or low in STOPWORDS or low.isdigit():
        return ()
    if low == word and "_" not in low and low.isalpha():
        return (low,)
    parts = [p.lower() for p in _SUBWORD.findall(word)]
    if len(parts) <= 1:
        return (low,)
    return (low, *dict.fromkeys(p for p in parts if len(p) > 1 and p not in STOPWORDS and not p.isdigit()))


@dataclass
class FileLex:
    """What the byte-level scan knows of one file."""

    words: dict[bytes, int]
    """Each word (a run of identifier bytes: names, numbers, keywords, in code, comments and strings
    alike) and how often it occurs."""
    defs: tuple[tuple[str, str], ...]
    """(keyword, name) of every definition the scan sees: ("class", "Printer"), ("def", "doit")."""

    def pack(self) -> bytes:
        return marshal.dumps((self.words, self.defs))

    @classmethod
    def unpack(cls, blob: bytes) -> FileLex:
        words, defs = marshal.loads(blob)
        return cls(words, tuple(map(tuple, defs)))


_NAME = re.compile(rb"[ \t]*([A-Za-z_]\w*)")


def _python_defs(data: bytes) -> list[tuple[str, str]]:
    # split on the keyword (fast, in C), then keep the pieces whose keyword starts a line
    out = []
    for kw, tag in ((b"def ", "def"), (b"class ", "class")):
        pieces = data.split(kw)
        for i in range(1, len(pieces)):
            head = pieces[i - 1][-64:].rstrip(b" \t")
            if head.endswith(b"async"):
                head = head[:-5].rstrip(b" \t")
            if head and not head.endswith(b"\n") or (not head and len(pieces[i - 1]) > 64):
                continue
            m = _NAME.match(pieces[i])
            if m:
                out.append((tag, m.group(1).decode()))
    return out


def scan(lang: str, data: bytes) -> FileLex:
    """The lexical record of one file's bytes."""
    words = Counter(data.translate(_WORD_BYTES).split())
    if lang == "python":
        defs = _python_defs(data)
    else:
        defs = [(k.decode(), n.decode()) for k, n in _OTHER_DEF.findall(data)]
    return FileLex(dict(words), tuple(defs))


def _scan_job(item: tuple[str, str, bytes]) -> tuple[str, bytes]:
    path, lang, data = item
    return path, scan(lang, data).pack()


# ---------------------------------------------------------------------------------------------
# the repository-wide lexical index


_ARRAYS = ("ptr", "docs", "counts", "doc_len", "src", "dst", "weight")
_MAX_DEFINERS = 25  # a name defined in more files than this says little about which one is meant


def name_weight(name: str) -> float:
    """How much a reference to `name` says about a dependency: long compound names are specific,
    private and dunder names are not."""
    if name.startswith("__") and name.endswith("__"):
        return 0.0
    w = 1.0
    if len(name) >= 8 and ("_" in name.strip("_") or len(_SUBWORD.findall(name)) > 1):
        w *= 2.0
    if name.startswith("_"):
        w *= 0.3
    if len(name) <= 2:
        w *= 0.2
    return w


def _ranges(starts, lengths):
    """Concatenated aranges [starts[i], starts[i] + lengths[i]) (numpy)."""
    # numpy loads slowly: imported when vectors are needed
    import numpy as np

    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    offsets = np.repeat(starts - (ends - lengths), lengths)
    return np.arange(total, dtype=np.int64) + offsets


class LexIndex:
    """The scanned files as one index: postings of search terms (for BM25), the names each file
    defines, and a file graph whose edges run from a file to the files defining the names it uses.

    Arrays are numpy; the whole index is stored in the cache under the fingerprint of the files
    it covers, so a repository seen before loads it at once."""

    def __init__(self, paths: list[str], vocab: list[str], definers: dict[str, list], arrays: dict):
        # numpy loads slowly: imported when vectors are needed
        import numpy as np

        self.paths = paths
        """The files, by their number in the arrays."""
        self.number = {p: i for i, p in enumerate(paths)}
        self.vocab = dict(zip(vocab, range(len(vocab)), strict=True))
        self.definers = definers
        """name -> [(file number, keyword), ...] of every definition the scan saw."""
        self.ptr, self.docs, self.counts = arrays["ptr"], arrays["docs"], arrays["counts"]
        """Postings: the files of term t are docs[ptr[t]:ptr[t+1]], with counts."""
        self.doc_len = arrays["doc_len"]
        self.src, self.dst, self.weight = arrays["src"], arrays["dst"], arrays["weight"]
        """The reference graph's edges."""
        self.avg_len = (float(self.doc_len.mean()) if len(paths) else 0.0) or 1.0  # no words at all: 1
        self._np = np

    def defs_of(self, path: str) -> set[tuple[str, str]]:
        """{(keyword, name)} of the definitions the scan saw in one file."""
        i = self.number.get(path)
        return {(kw, name) for name, found in self.definers.items() for j, kw in found if j == i}

    def postings(self, term: str):
        """(files, counts) of a search term; empty arrays when no file has it."""
        t = self.vocab.get(term)
        if t is None:
            return self.docs[:0], self.counts[:0]
        a, b = self.ptr[t], self.ptr[t + 1]
        return self.docs[a:b], self.counts[a:b]

    def df(self, term: str) -> int:
        """How many files hold a search term."""
        t = self.vocab.get(term)
        return 0 if t is None else int(self.ptr[t + 1] - self.ptr[t])

    def bm25(self, weights: dict[str, float], k1: float = 1.2, b: float = 0.75):
        """BM25 of every file against a weighted bag of search terms (numpy array, by file number)."""
        np = self._np
        scores = np.zeros(len(self.paths), dtype=np.float64)
        n = len(self.paths)
        norm = k1 * (1 - b + b * self.doc_len / self.avg_len)
        for term, w in weights.items():
            docs, tf = self.postings(term)
            if len(docs) == 0:
                continue
            idf = np.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            scores[docs] += w * idf * tf * (k1 + 1) / (tf + norm[docs])
        return scores

    @classmethod
    def build(cls, paths: list[str], records: list[FileLex]) -> LexIndex:
        # numpy loads slowly: imported when vectors are needed
        import numpy as np

        # words -> numbers, in C: one vocabulary, then each file's words as (file, word, count)
        words = list(set().union(*(r.words.keys() for r in records))) if records else []
        number = {w: i for i, w in enumerate(words)}
        sizes = [len(r.words) for r in records]
        f_of = np.repeat(np.arange(len(records), dtype=np.int64), sizes)
        w_of = np.concatenate([np.fromiter(map(number.__getitem__, r.words), dtype=np.int64, count=k)
                               for r, k in zip(records, sizes, strict=True)] or [np.zeros(0, dtype=np.int64)])
        c_of = np.concatenate([np.fromiter(r.words.values(), dtype=np.float32, count=k)
                               for r, k in zip(records, sizes, strict=True)] or [np.zeros(0, dtype=np.float32)])
        # each word's search terms (`word_terms`), in a CSR array word -> term numbers
        vocab: dict[str, int] = {}
        t_len = np.zeros(len(words), dtype=np.int64)
        t_flat: list[int] = []
        for i, raw in enumerate(words):
            if raw[0] > 57:  # not a number
                ident = raw.decode("ascii")
                if ident not in _KEYWORDS:
                    ts = word_terms(ident)
                    t_len[i] = len(ts)
                    t_flat += [vocab.setdefault(t, len(vocab)) for t in ts]
        t_start = np.zeros(len(words), dtype=np.int64)
        if len(words) > 1:
            np.cumsum(t_len[:-1], out=t_start[1:])
        t_flat_arr = np.asarray(t_flat, dtype=np.int64)
        # postings (file, term, count): expand every word into its terms, sum duplicates
        reps = t_len[w_of]
        files = np.repeat(f_of, reps)
        terms = t_flat_arr[_ranges(t_start[w_of], reps)]
        counts = np.repeat(c_of, reps)
        n_files = max(len(records), 1)
        key = terms * n_files + files
        order = np.argsort(key, kind="stable")
        key, counts = key[order], counts[order]
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(first)
        summed = np.add.reduceat(counts, starts) if len(starts) else counts[:0]
        key = key[starts]
        p_terms, p_files = key // n_files, key % n_files
        ptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(p_terms, minlength=len(vocab)), out=ptr[1:])
        doc_len = np.bincount(p_files, weights=summed, minlength=len(records)).astype(np.float32)
        arrays = {"ptr": ptr, "docs": p_files.astype(np.int32), "counts": summed.astype(np.float32),
                  "doc_len": doc_len}
        arrays.update(_graph(records, number, f_of, w_of, c_of))
        definers: dict[str, list] = {}
        for i, r in enumerate(records):
            for kw, name in dict.fromkeys(r.defs):
                definers.setdefault(name, []).append((i, kw))
        return cls(paths, list(vocab), definers, arrays)

    def pack(self) -> bytes:
        arrays = {k: (str(getattr(self, k).dtype), getattr(self, k).tobytes()) for k in _ARRAYS}
        return marshal.dumps((self.paths, "\n".join(self.vocab), self.definers, arrays))

    @classmethod
    def unpack(cls, blob: bytes) -> LexIndex:
        # numpy loads slowly: imported when vectors are needed
        import numpy as np

        paths, vocab, definers, arrays = marshal.loads(blob)
        return cls(paths, vocab.split("\n") if vocab else [], definers,
                   {k: np.frombuffer(raw, dtype=dt) for k, (dt, raw) in arrays.items()})


def _graph(records: list[FileLex], number: dict[bytes, int], f_of, w_of, c_of) -> dict:
    """Edges file -> file defining a name it uses, weighted by the name's specificity, the square
    root of the uses, and shared among the definers."""
    # numpy loads slowly: imported when vectors are needed
    import numpy as np

    definers: dict[str, list[int]] = {}
    for i, rec in enumerate(records):
        for _, name in rec.defs:
            lst = definers.setdefault(name, [])
            if not lst or lst[-1] != i:
                lst.append(i)
    n_words = len(number)
    d_len = np.zeros(n_words + 1, dtype=np.int64)  # the last slot: words that are no useful name
    d_weight = np.zeros(n_words + 1, dtype=np.float32)
    d_flat: list[int] = []
    d_start = np.zeros(n_words + 1, dtype=np.int64)
    for name, files in definers.items():
        w = number.get(name.encode())
        if w is None or len(files) > _MAX_DEFINERS:
            continue
        nw = name_weight(name)
        if nw <= 0:
            continue
        d_start[w], d_len[w], d_weight[w] = len(d_flat), len(files), nw / len(files)
        d_flat.extend(files)
    use = d_len[w_of] > 0
    src0, word, uses = f_of[use], w_of[use], c_of[use]
    reps = d_len[word]
    src = np.repeat(src0, reps)
    dst = np.asarray(d_flat, dtype=np.int64)[_ranges(d_start[word], reps)]
    weight = np.repeat(d_weight[word] * np.sqrt(uses), reps)
    keep = src != dst
    src, dst, weight = src[keep], dst[keep], weight[keep]
    n = max(len(records), 1)
    key, inverse = np.unique(src * n + dst, return_inverse=True)
    summed = np.bincount(inverse, weights=weight, minlength=len(key)).astype(np.float32)
    return {"src": (key // n).astype(np.int32), "dst": (key % n).astype(np.int32), "weight": summed}


# ---------------------------------------------------------------------------------------------
# the corpus


class Corpus:
    """The source files of a repository (bytes), their lexical index and, on demand, their symbols.

    Build with `Corpus.load(source)`; `source` is what `build_index` takes (a Workspace, a
    directory or {path: bytes}). Files the index would skip (binary, non-UTF-8, huge,
    unreadable) are counted in `stats` and left out of `files`."""

    def __init__(self, files: dict[str, bytes], stats: IndexStats, cache: SymbolCache | None = None,
                 workers: int | None = None, scan_tests: bool = False):
        self.files = files
        """{path: bytes} of every parseable source file."""
        self.digests = {p: content_digest(d) for p, d in files.items()}
        self.stats = stats
        self.scan_tests = scan_tests
        self._cache = cache
        self._workers = workers
        self._lex: LexIndex | None = None
        self._symbols: dict = {}
        self.scanned = 0
        """Files scanned by this corpus (their records were not in the cache)."""
        self.reused = 0
        """Files whose records came from the cache."""

    @classmethod
    def load(cls, source, *, cache: SymbolCache | bool | None = True, max_bytes: int = DEFAULT_MAX_BYTES,
             workers: int | None = None, scan_tests: bool = False) -> Corpus:
        """Read the source files of `source`; `cache=False` keeps nothing between runs."""
        raw = source if isinstance(source, dict) else read_sources(source)
        stats, todo = admit_sources(dict(sorted(raw.items())), max_bytes)
        files = {path: data for path, _, data in todo}
        store = SymbolCache() if cache is True else (cache or None)
        corpus = cls(files, stats, store, workers, scan_tests)
        corpus._owns_cache = cache is True
        return corpus

    @property
    def cache(self) -> SymbolCache | None:
        """The cache this corpus reads and fills (None: nothing is kept between runs)."""
        return self._cache

    def close(self) -> None:
        """Close the cache if this corpus opened it (a cache passed in stays open)."""
        if self._cache is not None and getattr(self, "_owns_cache", False):
            self._cache.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def lex(self) -> LexIndex:
        """The lexical index of the scanned files (tests left out unless `scan_tests`)."""
        if self._lex is None:
            paths = [p for p in self.files if self.scan_tests or not is_test_path(p)]
            fingerprint = content_digest("\0".join(f"{p}\0{self.digests[p]}" for p in paths).encode())
            key = f"lexindex{INDEX_VERSION}:{fingerprint}"
            blob = self._cache.get_many([key]).get(key) if self._cache is not None else None
            if blob is not None:
                try:
                    self._lex = LexIndex.unpack(blob)
                    self.reused += len(paths)
                except (ValueError, EOFError, TypeError, KeyError):
                    self._lex = None
            if self._lex is None:
                self._lex = LexIndex.build(paths, self._records(paths))
                if self._cache is not None:
                    self._cache.put_many([(key, self._lex.pack())])
        return self._lex

    def _records(self, paths: list[str]) -> list[FileLex]:
        """The FileLex of each path, from the cache or scanned (over several processes when many)."""
        keys = {p: f"lex{LEX_VERSION}:{self.digests[p]}" for p in paths}
        hits = self._cache.get_many(list(set(keys.values()))) if self._cache is not None else {}
        out: dict[str, FileLex] = {}
        misses = []
        for p in paths:
            blob = hits.get(keys[p])
            if blob is not None:
                try:
                    out[p] = FileLex.unpack(blob)
                    continue
                except (ValueError, EOFError, TypeError):
                    pass
            misses.append((p, language_of(p), self.files[p]))
        misses.sort(key=lambda it: -len(it[2]))
        done = parallel_map(_scan_job, misses, sum(len(d) for _, _, d in misses), self._workers,
                            min_items=32, min_bytes=1_500_000)
        for p, blob in done:
            out[p] = FileLex.unpack(blob)
        self.scanned += len(done)
        self.reused += len(paths) - len(done)
        if self._cache is not None and done:
            self._cache.put_many([(keys[p], blob) for p, blob in done])
        return [out[p] for p in paths]

    def symbols(self, paths: list[str] | None = None) -> SymbolIndex:
        """The tree-sitter symbols of `paths` (default: every file), parsed once per corpus."""
        wanted = list(self.files) if paths is None else [p for p in paths if p in self.files]
        todo = [p for p in wanted if p not in self._symbols]
        if todo:
            index = build_index({p: self.files[p] for p in todo}, cache=self._cache if self._cache else False,
                                workers=self._workers, digests=self.digests)
            self._symbols.update(index.files)
            for p in todo:
                self._symbols.setdefault(p, None)  # a parser failure: known, not retried
        files = {p: self._symbols[p] for p in wanted if self._symbols.get(p) is not None}
        stats = IndexStats(files=len(wanted), parsed=len(files))
        for fs in files.values():
            stats.partial += fs.has_error
            stats.definitions += len(fs.definitions)
            stats.by_language[fs.language] = stats.by_language.get(fs.language, 0) + 1
        return SymbolIndex(files, stats)

    def memo(self, kind: str, paths: list[str], compute) -> dict[str, bytes]:
        """{path: compute(path)} (bytes), kept in the cache under `kind` and each file's content
        hash, so that a later run over the same files reads them instead."""
        keys = {p: f"{kind}:{self.digests[p]}" for p in paths if p in self.digests}
        hits = self._cache.get_many(list(set(keys.values()))) if self._cache is not None else {}
        out = {p: hits[k] for p, k in keys.items() if k in hits}
        new = [(p, compute(p)) for p in keys if p not in out]
        if self._cache is not None and new:
            self._cache.put_many([(keys[p], blob) for p, blob in new])
        out.update(new)
        return out

    def text(self, path: str) -> str:
        return self.files[path].decode("utf-8", errors="replace")

    def suffixes(self) -> dict[str, list[str]]:
        """Every trailing run of path components of every file, its extension (and a package's
        `/__init__`) dropped -> the files: `a/b/c.py` gives `a/b/c`, `b/c` and `c`."""
        if getattr(self, "_suffixes", None) is None:
            out: dict[str, list[str]] = {}
            for p in self.files:
                stem = p.rsplit(".", 1)[0] if "." in p.rsplit("/", 1)[-1] else p
                if stem.endswith("/__init__") or stem == "__init__":
                    stem = stem[: -len("__init__")].rstrip("/")
                parts = stem.split("/")
                for i in range(len(parts)):
                    out.setdefault("/".join(parts[i:]), []).append(p)
            self._suffixes = out
        return self._suffixes
