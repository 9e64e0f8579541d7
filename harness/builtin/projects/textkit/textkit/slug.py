"""URL slugs."""

import re
import unicodedata

from .tokens import words


def ascii_fold(text: str) -> str:
    """Drop accents: 'Crème brûlée' -> 'Creme brulee'."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def slugify(text: str, sep: str = "-", max_length: int = 0) -> str:
    """A lower-case ASCII slug: 'Hello, World!' -> 'hello-world'.

    With max_length, the slug is cut at a word boundary so that it is at most that long.
    """
    text = ascii_fold(text).lower()
    slug = re.sub(r"[^a-z0-9]+", sep, text)
    if slug.endswith(sep):
        slug = slug[: -len(sep)]
    if max_length and len(slug) > max_length:
        cut = slug[: max_length + 1]
        slug = cut.rsplit(sep, 1)[0] if sep in cut else cut[:max_length]
    return slug


def slug_words(text: str) -> list:
    """The words a slug is made of."""
    return [w.lower() for w in words(ascii_fold(text))]
