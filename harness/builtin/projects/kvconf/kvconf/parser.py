"""The file format: `[section]` headers, `key = value` lines, `#` and `;` comments."""

from .errors import ConfigError


def parse(text: str) -> dict:
    """{section: {key: raw value}}; keys before any header go to section ""."""
    data = {"": {}}
    section = ""
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            data.setdefault(section, {})
            continue
        if "=" not in line:
            raise ConfigError("invalid line")
        key, value = line.split("=", 1)
        data[section][key.strip().lower()] = value.strip()
    return data
