"""Errors."""


class ConfigError(ValueError):
    """A configuration file that cannot be read."""

    def __init__(self, message: str, lineno: int = 0):
        super().__init__(message)
        self.lineno = lineno
