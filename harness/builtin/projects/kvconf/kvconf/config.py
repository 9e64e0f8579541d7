"""Typed access to a parsed configuration, with environment overrides."""

import os

from .parser import parse
from .types import to_bool, to_int, to_list


class Config:
    def __init__(self, text: str, env_prefix: str = ""):
        self.data = parse(text)
        self.env_prefix = env_prefix

    def get(self, key: str, default=None, section: str = ""):
        """The raw value; `PREFIX_SECTION_KEY` in the environment wins when env_prefix is set."""
        if self.env_prefix:
            name = "_".join(p for p in (self.env_prefix, section, key) if p).upper()
            if name in os.environ:
                return os.environ[name]
        return self.data.get(section, {}).get(key.lower(), default)

    def get_bool(self, key: str, default: bool = False, section: str = "") -> bool:
        raw = self.get(key, None, section)
        return default if raw is None else to_bool(raw)

    def get_int(self, key: str, default: int = 0, section: str = "") -> int:
        raw = self.get(key, None, section)
        return default if raw is None else to_int(raw)

    def get_list(self, key: str, default=None, section: str = "") -> list:
        raw = self.get(key, None, section)
        return list(default or []) if raw is None else to_list(raw)
