from kvconf import Config

TEXT = """
debug = yes
workers = 4
hosts = a.example, b.example,
[db]
timeout = 30
"""


def test_get_bool_true():
    assert Config(TEXT).get_bool("debug") is True


def test_get_int_and_section():
    cfg = Config(TEXT)
    assert cfg.get_int("workers") == 4
    assert cfg.get_int("timeout", section="db") == 30


def test_get_list():
    assert Config(TEXT).get_list("hosts") == ["a.example", "b.example"]


def test_defaults():
    cfg = Config(TEXT)
    assert cfg.get_bool("missing", default=True) is True
    assert cfg.get_list("missing") == []


def test_env_override(monkeypatch):
    monkeypatch.setenv("APP_DB_TIMEOUT", "5")
    assert Config(TEXT, env_prefix="app").get_int("timeout", section="db") == 5
