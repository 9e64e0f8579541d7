"""agent/secrets.py: which values are secrets, and the forms in which they are found and scrubbed."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from agent.secrets import Redactor, secret_env_values

TOKEN = "ghs_FAKEtoken0123456789abcdefABCDEF"


def test_every_known_form_is_found_and_scrubbed_inside_other_text():
    r = Redactor([TOKEN])
    environ = f"PATH=/usr/bin\0GITHUB_TOKEN={TOKEN}\0HOME=/root\0".encode()
    for prefix in (b"", b"x", b"xy"):  # the three offsets of the token in a base64 stream
        stream = prefix + environ
        encoded = base64.b64encode(stream).decode()
        wrapped = "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
        as_added = "\n".join("+" + line for line in wrapped.splitlines())  # as a patch adds it
        for text in (encoded, wrapped, as_added, base64.urlsafe_b64encode(stream).decode(), stream.hex(),
                     stream.hex().upper(), base64.b64encode(stream[::-1]).decode()):
            assert r.found(f"before {text} after"), text
            assert r.scrub(text).count("***") >= 1 and not r.found(r.scrub(text))
    assert r.scrub(f"a {TOKEN} b {TOKEN[::-1]} c") == "a *** b *** c"
    assert r.scrub(quote(f"?t={TOKEN}&", safe="")) == "%3Ft%3D***%26"
    password = Redactor(["Pa55:w/rd+x"])
    assert password.scrub(quote("Pa55:w/rd+x", safe="")) == "***" and password.found("u=Pa55%3Aw%2Frd%2Bx")


def test_ordinary_text_is_left_alone():
    r = Redactor([TOKEN])
    text = "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n" * 100
    assert not r.found(text) and r.scrub(text) == text
    assert not Redactor([]) and Redactor([]).scrub(text) == text
    assert not Redactor(["short"])  # under 8 characters is no secret


def test_scrub_obj_walks_dicts_lists_and_tuples_and_keeps_keys_and_other_values():
    r = Redactor([TOKEN])
    value = {"a": [TOKEN, 3, None], TOKEN: ("x", f"t={TOKEN[::-1]}"), "n": 1.5}
    assert r.scrub_obj(value) == {"a": ["***", 3, None], TOKEN: ("x", "t=***"), "n": 1.5}
    assert TOKEN not in json.dumps(r.scrub_obj(value)["a"])


def test_the_environment_s_secrets_by_name_or_by_shape_not_plain_words():
    env = {"NPM_TOKEN": "undefined", "DEPLOY_API_KEY": "sk-live-0123456789abcdef", "DB_PASSWORD": "Pa55:w/rd",
           "ODD_NAME": "ghp_abcdefghijklmnop1234", "HOME": "/root", "GIT_AUTHOR_NAME": "patchwright"}
    assert sorted(secret_env_values(env)) == sorted(["sk-live-0123456789abcdef", "Pa55:w/rd",
                                                    "ghp_abcdefghijklmnop1234"])
    assert Redactor.from_env(["extra-secret-1"], environ=env).found("x extra-secret-1 y")
