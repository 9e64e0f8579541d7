"""Secrets that nothing written may carry, and the scrubbing that takes them out.

A `Redactor` knows a set of secret values (the bot's token, the model's API key, any other value of
a secret-looking environment variable) and finds them in text in the forms a prompt-injected model
could use to smuggle one out: as is, reversed, base64 (standard and URL-safe, at each of the three
byte offsets the secret can have in a longer encoded stream), hex (either case) and URL-encoded,
each of these also for the reversed secret, and with whitespace (a wrapped `base64` output, also as
the added lines of a patch) allowed between any two characters. `scrub` replaces every such form by `***`; `found` says whether text
holds one.

This is a net, not a wall: a secret that a model may read can always be encoded in a way no list
knows (a cipher, one character per file). What keeps secrets safe is that code the model drives
never runs where they can be read (see docs/github.md); the redactor catches the plain and the
common encoded forms in what is written and published.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET = 8
"""Shorter values are not treated as secrets (they would match ordinary text)."""
MIN_FORM = 16
"""Encoded forms shorter than this are left out (too likely to occur by chance)."""
SECRET_NAME = re.compile(r"(API_KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY|ACCESS_KEY|_PAT$)",
                         re.I)
"""Environment variable names whose values are secrets."""
SECRET_VALUE = re.compile(r"^(gh[pousr]_|github_pat_|sk-|xox[abpr]-|glpat-|AKIA|ASIA)[A-Za-z0-9_\-]{12,}")
"""Values that are credentials whatever their variable is called (GitHub, OpenAI/Anthropic, Slack,
GitLab, AWS key ids)."""


def _mixed(value: str) -> bool:
    """Whether a value mixes character classes (lower, upper, digits, others), as keys and passwords
    do; a plain word such as `undefined` under a secret-looking name is not scrubbed everywhere."""
    classes = (re.search(r"[a-z]", value), re.search(r"[A-Z]", value), re.search(r"[0-9]", value),
               re.search(r"[^A-Za-z0-9]", value))
    return sum(c is not None for c in classes) >= 2


def secret_env_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the environment that are secrets: by the variable's name (when the value is not a
    plain word) or by the value's shape."""
    env = os.environ if environ is None else environ
    return [v for k, v in env.items()
            if len(v) >= MIN_SECRET and ((SECRET_NAME.search(k) and _mixed(v)) or SECRET_VALUE.match(v))]


def _base64_cores(data: bytes) -> list[str]:
    """The parts of data's base64 encoding that do not depend on the bytes around it, for each of
    the three offsets (modulo 3) at which data can start in a longer stream."""
    out = []
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + data).decode()
        first, last = (1 if k else 0), (k + len(data)) // 3  # whole 3-byte groups made of data alone
        core = enc[4 * first: 4 * last]
        out += [core, core.replace("+", "-").replace("/", "_")]
    return out


def forms(secret: str) -> tuple[list[str], list[str]]:
    """(case-sensitive forms, case-insensitive forms) of a secret, each at least MIN_FORM long
    (the secret itself and its reverse are always kept)."""
    exact, folded = [], []
    for variant in (secret, secret[::-1]):
        data = variant.encode()
        exact += [variant, quote(variant, safe=""), quote_plus(variant), *_base64_cores(data)]
        folded.append(data.hex())
    keep = {secret, secret[::-1]}
    return ([f for f in dict.fromkeys(exact) if len(f) >= MIN_FORM or f in keep],
            [f for f in dict.fromkeys(folded) if len(f) >= MIN_FORM])


_GAP = r"(?:[ \t\r\f\v]|\n[+\- ]?)*"
"""What may come between two characters of a form: whitespace, and after a line break a diff's line
prefix (a base64 text wrapped into lines, as a patch adds it)."""


def _pattern(form: str) -> str:
    return _GAP.join(re.escape(c) for c in form)


class Redactor:
    """Finds and masks a set of secrets in text (see the module's docstring for the forms)."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True)
        exact: list[str] = []
        folded: list[str] = []
        for s in self.secrets:
            e, f = forms(s)
            exact += e
            folded += f
        parts = [_pattern(f) for f in sorted(set(exact), key=len, reverse=True)]
        parts += [f"(?i:{_pattern(f)})" for f in sorted(set(folded), key=len, reverse=True)]
        self._regex = re.compile("|".join(parts)) if parts else None

    @classmethod
    def from_env(cls, extra: Iterable[str | None] = (), environ: Mapping[str, str] | None = None) -> Redactor:
        """The environment's secrets (secret_env_values) plus `extra`."""
        return cls([*secret_env_values(environ), *extra])

    def __bool__(self) -> bool:
        return self._regex is not None

    def found(self, text: str) -> bool:
        """Whether `text` holds a secret in any of the known forms."""
        return self._regex is not None and self._regex.search(text) is not None

    def scrub(self, text: str) -> str:
        """`text` with every known form of every secret replaced by ***."""
        if self._regex is None or not text:
            return text
        return self._regex.sub(MASK, text)

    def scrub_obj(self, value: Any) -> Any:
        """`value` with scrub applied to every string in it (dicts, lists, tuples and dataclasses walked; keys and
        other values kept). Unchanged parts are returned as they are."""
        if self._regex is None:
            return value
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self.scrub_obj(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub_obj(v) for v in value]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return tuple(self.scrub_obj(v) for v in value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a progress event
            return dataclasses.replace(value, **{f.name: self.scrub_obj(getattr(value, f.name))
                                                 for f in dataclasses.fields(value) if f.init})
        return value


NO_SECRETS = Redactor()
