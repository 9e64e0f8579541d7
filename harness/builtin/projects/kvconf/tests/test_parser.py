import pytest

from kvconf import ConfigError, parse


def test_sections_and_comments():
    data = parse("# top\nname = demo\n[server]\nport = 8080 \n; note\n")
    assert data == {"": {"name": "demo"}, "server": {"port": "8080"}}


def test_keys_are_case_insensitive():
    assert parse("Name = x")[""] == {"name": "x"}


def test_invalid_line_raises():
    with pytest.raises(ConfigError):
        parse("[a]\njust words\n")
