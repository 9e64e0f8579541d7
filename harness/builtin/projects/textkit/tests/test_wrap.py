from textkit.wrap import fill, wrap


def test_wrap_short_text():
    assert wrap("hello world", 20) == ["hello world"]


def test_wrap_breaks_at_spaces():
    assert wrap("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]


def test_long_word_gets_own_line():
    assert wrap("a verylongword b", 5) == ["a", "verylongword", "b"]


def test_fill_joins_lines():
    assert fill("aaa bbb ccc", 7) == "aaa bbb\nccc"
