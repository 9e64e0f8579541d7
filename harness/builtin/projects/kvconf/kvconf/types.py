"""Turning raw strings into typed values."""

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def to_bool(raw: str) -> bool:
    """'yes'/'no', 'true'/'false', 'on'/'off', '1'/'0' (any case)."""
    value = raw.strip().lower()
    if value not in TRUE | FALSE:
        raise ValueError(f"not a boolean: {raw!r}")
    return bool(value)


def to_int(raw: str) -> int:
    return int(raw.strip().replace("_", ""))


def to_list(raw: str) -> list:
    """'a, b, c' -> ['a', 'b', 'c'] (empty items dropped)."""
    return [item.strip() for item in raw.split(",") if item.strip()]
