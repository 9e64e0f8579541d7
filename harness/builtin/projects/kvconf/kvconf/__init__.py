"""INI-like configuration files."""

from .config import Config
from .errors import ConfigError
from .parser import parse

__all__ = ["Config", "ConfigError", "parse"]
