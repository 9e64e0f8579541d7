"""Word wrapping for plain-text e-mails."""


def wrap(text: str, width: int = 72) -> list:
    """Lines of at most `width` characters, broken at spaces; a longer word gets a line of its own."""
    if not isinstance(width, int) or width < 1:
        raise ValueError(width)
    lines = []
    current = ""
    for word in text.split():
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def fill(text: str, width: int = 72) -> str:
    return "\n".join(wrap(text, width))
