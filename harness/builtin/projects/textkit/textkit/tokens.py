"""A small tokenizer."""

import re

_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")


def words(text: str) -> list:
    """The words of a text, apostrophes kept inside words: "don't stop" -> ["don't", "stop"]."""
    return _WORD.findall(text)


def count_words(text: str) -> int:
    return len(words(text))
