"""The repository map: which files and definitions matter, in few tokens.

Files are the nodes of a graph whose edges run from a file to the files defining the names it
uses (built by `tools.corpus.LexIndex`). PageRank over that graph, personalised toward what an
issue mentions (paths, stack-trace frames, identifiers it names), ranks the files; within a
file, definitions rank by how much the issue and the rest of the repository refer to them. The
map lists the best files with the signatures of their best definitions, trimmed to a token
budget.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile

from .corpus import Corpus, LexIndex
from .issue_query import IssueQuery, Mentions, resolve
from .symbols import SymbolIndex

DAMPING = 0.85


def pagerank(lex: LexIndex, personal: dict[str, float] | None = None, *, damping: float = DAMPING,
             iterations: int = 50, tol: float = 1e-9):
    """PageRank of `lex`'s files over its reference graph (numpy array by file number, summing to 1),
    teleporting to `personal` ({path: weight}) when given, else uniformly."""
    # numpy loads slowly: imported when vectors are needed
    import numpy as np

    n = len(lex.paths)
    if n == 0:
        return np.zeros(0)
    p = np.zeros(n)
    for path, w in (personal or {}).items():
        i = lex.number.get(path)
        if i is not None and w > 0:
            p[i] += w
    p = p / p.sum() if p.sum() > 0 else np.full(n, 1.0 / n)
    out_w = np.bincount(lex.src, weights=lex.weight, minlength=n)
    edge_share = lex.weight / np.where(out_w[lex.src] > 0, out_w[lex.src], 1.0)
    dangling = out_w == 0
    r = np.full(n, 1.0 / n)
    for _ in range(iterations):
        nxt = np.bincount(lex.dst, weights=r[lex.src] * edge_share, minlength=n)
        nxt = damping * (nxt + r[dangling].sum() * p) + (1 - damping) * p
        if np.abs(nxt - r).sum() < tol:
            r = nxt
            break
        r = nxt
    return r


def personalization(mentions: Mentions) -> dict[str, float]:
    """Where the random surfer restarts: the files the issue names, whose frames it shows, and that
    define the identifiers it names."""
    out: dict[str, float] = {}
    for source, scale in ((mentions.files, 1.0), (mentions.frames, 1.0), (mentions.defines, 1.0)):
        total = sum(source.values()) or 1.0
        for p, v in source.items():
            out[p] = out.get(p, 0.0) + scale * v / total
    return out


# ---------------------------------------------------------------------------------------------
# the rendered map


_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_tiktoken_encoder = None


def count_tokens(text: str) -> int:
    """Tokens of `text` for a model: tiktoken's cl100k when it is installed with its data already
    cached (never downloaded), else an estimate that errs high (words and punctuation marks, long
    words counted per 4 characters)."""
    enc = _encoder()
    if enc is not None:
        return len(enc.encode(text, disallowed_special=()))
    return sum(1 + len(m) // 5 for m in _TOKEN_RE.findall(text)) + text.count("\n")


def _encoder():
    global _tiktoken_encoder
    if _tiktoken_encoder is None:
        _tiktoken_encoder = False
        try:
            # tiktoken is optional and loads slowly: imported on first use
            import tiktoken

            url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
            cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR") or \
                os.path.join(tempfile.gettempdir(), "data-gym-cache")
            if os.path.exists(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())):
                _tiktoken_encoder = tiktoken.get_encoding("cl100k_base")
        except Exception:  # not installed, or its data unreadable: estimate
            _tiktoken_encoder = False
    return _tiktoken_encoder or None


def rank_files(corpus: Corpus, issue_text: str | None = None):
    """(files ranked best first as [(path, rank)], the resolved mentions or None)."""
    lex = corpus.lex
    mentions = None
    personal = None
    if issue_text and issue_text.strip():
        query = IssueQuery.parse(issue_text)
        mentions = resolve(query, corpus, lex.definers, lex.paths, lex.df)
        personal = personalization(mentions) or None
    ranks = pagerank(lex, personal)
    order = sorted(range(len(lex.paths)), key=lambda i: (-ranks[i], lex.paths[i]))
    return [(lex.paths[i], float(ranks[i])) for i in order], mentions


def render(ranked: list[tuple[str, float]], symbols: SymbolIndex, tokens: int,
           mentioned_names: dict[str, float] | None = None, max_defs_per_file: int = 30) -> str:
    """The map text: for each file in `ranked` order, its path and then the signatures of its
    classes and functions (nested ones indented), with line numbers; never over `tokens`. A file
    that is not Python and shows no definition (a bundled jquery.js, a data file) is left out."""
    mentioned_names = mentioned_names or {}
    out: list[str] = []
    used = 0
    for path, _ in ranked:
        fs = symbols.files.get(path)
        header = f"{path}:"
        cost = count_tokens(header + "\n")
        if used + cost > tokens:
            break
        lines = []
        if fs is not None:
            defs = [d for d in fs.definitions if d.qualname.count(".") <= 1 or d.parent in mentioned_names]
            # mentioned definitions first, then classes, then the rest in file order, up to the cap
            keep = sorted(defs, key=lambda d: (-(d.name in mentioned_names), d.kind != "class", d.start_line))
            keep = sorted(keep[:max_defs_per_file], key=lambda d: d.start_line)
            for d in keep:
                indent = "    " * d.qualname.count(".")
                lines.append(f"{d.start_line:>6}│{indent}{d.signature}")
        if not lines and not path.endswith((".py", ".pyi")):
            continue  # nothing to show: bundled JavaScript, data or prose only crowd the map out
        block = [header]
        for ln in lines:
            c = count_tokens(ln + "\n")
            if used + cost + c > tokens:
                break
            block.append(ln)
            cost += c
        if len(block) == 1 and lines:  # a file header alone says little when its definitions do not fit
            break
        out.extend(block)
        used += cost
    text = "\n".join(out)
    while out and count_tokens(text) > tokens:  # an encoder that does not add up line by line
        out.pop()
        text = "\n".join(out)
    return text


def repo_map(source, issue_text: str | None = None, tokens: int = 1024, *, cache=True,
             max_files: int | None = None) -> str:
    """The repository map of `source` (a Corpus, a Workspace, a directory or {path: bytes}),
    ranked toward `issue_text` when given, in at most `tokens` tokens (as `count_tokens` counts)."""
    corpus = source if isinstance(source, Corpus) else Corpus.load(source, cache=cache)
    try:
        ranked, mentions = rank_files(corpus, issue_text)
        # parse only as many files as can show: a map of N tokens rarely holds N/20 files
        limit = max_files or max(8, min(len(ranked), math.ceil(tokens / 20)))
        shown = ranked[:limit]
        symbols = corpus.symbols([p for p, _ in shown])
        return render(shown, symbols, tokens, mentions.names if mentions else None)
    finally:
        if corpus is not source:
            corpus.close()
