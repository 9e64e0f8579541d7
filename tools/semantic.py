"""The semantic signal of localization: how close the issue is in meaning to a file or a function.

An optional re-ranking stage (the `embeddings` extra, `tools/embed.py`): the issue, the best files
of the lexical ranking (each as its path, docstring and the names it defines) and the best
functions (path, qualified name, signature, docstring, the head of the body) are embedded with a
small sentence model; the cosine of each candidate with the issue, scaled to [0, 1] over the
candidates, is the `semantic` signal. Vectors are cached by the digest of the text embedded (and
of the model), in the symbol cache beside the index, so an unchanged file is embedded once.
"""

from __future__ import annotations

import hashlib
import re

from .embed import EmbeddingUnavailable, default_encoder, find_model
from .symbols import Definition

SEMANTIC_VERSION = "1"
FILE_TOKENS = 256
"""Tokens of a file's text the encoder reads."""
FUNCTION_TOKENS = 128
"""Tokens of a function's text the encoder reads."""
_SPACE = re.compile(r"\s+")


def available() -> bool:
    """Whether the embedding extra and a model are installed."""
    try:
        import tokenizers  # noqa: F401

        find_model()
    except (ImportError, EmbeddingUnavailable):
        return False
    return True


def file_text(path: str, definitions: list[Definition], data: bytes) -> str:
    """What a file is about, in few words: its path, its module docstring and the names it defines."""
    head = data[:1500].decode("utf-8", errors="replace")
    m = re.match(r'\s*(?:#[^\n]*\n\s*)*[rRuU]?("""|\'\'\')(.*?)\1', head, re.S)
    doc = _SPACE.sub(" ", m.group(2)).strip()[:400] if m else ""
    names = " ".join(dict.fromkeys(d.qualname.replace(".", " ") for d in definitions
                                   if d.qualname.count(".") <= 1))
    return f"{path.replace('/', ' ').replace('_', ' ')}. {doc}\n{names}"


def function_text(path: str, d: Definition, data: bytes) -> str:
    """A function as the encoder reads it: where it is, its name and its code."""
    body = data[d.start_byte:d.end_byte].decode("utf-8", errors="replace")
    return f"{path} {d.qualname}\n{body[:1200]}"


def embed_cached(cache, texts: list[str], max_tokens: int):
    """Unit vectors of `texts` (numpy, one row a text), from `cache` (a SymbolCache or None) where
    it has them, else encoded and stored."""
    # numpy loads slowly: imported when vectors are needed
    import numpy as np

    enc = default_encoder()
    keys = [f"emb{SEMANTIC_VERSION}:{enc.model_id}:{max_tokens}:"
            f"{hashlib.sha1(t.encode('utf-8', 'surrogatepass')).hexdigest()}" for t in texts]
    found = cache.get_many(list(set(keys))) if cache is not None else {}
    out = np.zeros((len(texts), enc.dim), dtype=np.float32)
    todo = [i for i, k in enumerate(keys) if k not in found]
    for i, k in enumerate(keys):
        if k in found:
            out[i] = np.frombuffer(found[k], dtype=np.float16).astype(np.float32)
    if todo:
        vecs = enc.encode([texts[i] for i in todo], max_tokens)
        for i, v in zip(todo, vecs, strict=True):
            out[i] = v
        if cache is not None:
            cache.put_many(list({keys[i]: v.astype(np.float16).tobytes() for i, v in zip(todo, vecs, strict=True)}
                                .items()))
    return out


def scaled_similarity(query_vec, vectors) -> list[float]:
    """Cosine of each row of `vectors` with `query_vec`, scaled to [0, 1] over the rows (the best 1,
    the worst 0)."""
    if len(vectors) == 0:
        return []
    sims = vectors @ query_vec
    lo, hi = float(sims.min()), float(sims.max())
    span = hi - lo
    return [(float(s) - lo) / span if span > 1e-9 else 1.0 for s in sims]


def issue_vector(cache, issue_text: str):
    """The issue's unit vector (its first `FILE_TOKENS` tokens: the title and the start of the body)."""
    return embed_cached(cache, [_SPACE.sub(" ", issue_text).strip()], FILE_TOKENS)[0]
