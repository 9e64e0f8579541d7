from textkit import slugify


def test_slugify_basic():
    assert slugify("Hello World") == "hello-world"


def test_slugify_accents():
    assert slugify("Crème Brûlée") == "creme-brulee"


def test_slugify_custom_separator():
    assert slugify("a b c", sep="_") == "a_b_c"


def test_slugify_max_length_cuts_at_word():
    assert slugify("the quick brown fox", max_length=12) == "the-quick"
