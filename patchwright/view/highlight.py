"""Syntax highlighting with Pygments: code by file name, diffs, and the stylesheet they need."""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import DiffLexer, TextLexer, get_lexer_by_name, get_lexer_for_filename
from pygments.util import ClassNotFound

MAX_CHARS = 60_000
"""Longer text is shown plain (highlighting it would make the page heavy and slow)."""
_FORMATTER = HtmlFormatter(nowrap=True)


@lru_cache(maxsize=64)
def _lexer_for(name: str) -> Lexer:
    try:
        return get_lexer_for_filename(name, stripnl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False)


@lru_cache(maxsize=8)
def _lexer_named(name: str) -> Lexer:
    try:
        return get_lexer_by_name(name, stripnl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False)


def _pre(body: str, kind: str) -> Markup:
    return Markup(f'<pre class="hl {kind}">') + Markup(body) + Markup("</pre>")


def code(text: str, filename: str = "", language: str = "") -> Markup:
    """`text` highlighted as the language of `filename` (or the named `language`), in a <pre>."""
    if len(text) > MAX_CHARS:
        return _pre(str(escape(text)), "plain")
    lexer = _lexer_named(language) if language else _lexer_for(filename or "x.txt")
    return _pre(highlight(text, lexer, _FORMATTER), "code")


def diff(text: str) -> Markup:
    """A unified diff, highlighted, in a <pre>."""
    if len(text) > MAX_CHARS:
        return _pre(str(escape(text)), "plain")
    return _pre(highlight(text, DiffLexer(stripnl=False), _FORMATTER), "diff")


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The CSS of the highlighted tokens (scoped to `pre.hl`)."""
    return _FORMATTER.get_style_defs("pre.hl")
