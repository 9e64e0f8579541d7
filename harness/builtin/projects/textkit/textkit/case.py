"""Identifier case conversion."""

import re


def to_snake(name: str) -> str:
    """camelCase or PascalCase -> snake_case: 'parseHttpHeader' -> 'parse_http_header'."""
    out = re.sub(r"(?<!^)(?=[A-Z])", "_", name)
    return out.replace("__", "_").lower()


def to_camel(name: str, upper_first: bool = False) -> str:
    """snake_case -> camelCase (PascalCase with upper_first)."""
    parts = [p for p in name.split("_") if p]
    if not parts:
        return ""
    head = parts[0].capitalize() if upper_first else parts[0].lower()
    return head + "".join(p.capitalize() for p in parts[1:])
