"""Datasets for batch runs, and choosing instances from them.

    builtin                 the built-in task suite (harness/builtin)
    PATH.jsonl              SWE-bench rows, one JSON object a line
    hf:NAME[:SPLIT]         a Hugging Face dataset through the `datasets` library (SPLIT: test)

Selection (`select`) keeps the dataset's order: `--instances` ids, then `--filter` (a regular
expression searched in each id), then `--slice A:B` (Python's slice of what is left).
"""

from __future__ import annotations

import re

from harness.instance import Instance, load_instances
from sandbox.errors import UserError


def load_dataset(name: str) -> list[Instance]:
    """The instances of a dataset named as above (`harness.instance.load_instances`, the one loader);
    a UserError (one line) when it cannot be read or holds no instance."""
    instances = load_instances(name)
    if not instances:
        raise UserError(f"dataset {name} holds no instances")
    return instances


def parse_slice(text: str) -> slice:
    """`A:B`, `A:` or `:B` (Python's slice, negative numbers allowed) -> slice."""
    m = re.fullmatch(r"\s*(-?\d+)?\s*:\s*(-?\d+)?\s*", text or "")
    if not m:
        raise UserError(f"--slice {text!r} is malformed: write A:B, A: or :B (e.g. 0:50)")
    return slice(*(int(g) if g is not None else None for g in m.groups()))


def select(instances: list[Instance], ids: list[str] | None = None, slice_: str | None = None,
           pattern: str | None = None) -> list[Instance]:
    """The instances chosen by ids, a regular expression on the id and a slice, in the dataset's
    order; a UserError when an id is unknown, the pattern is malformed or nothing is left."""
    chosen = instances
    if ids:
        known = {i.instance_id for i in instances}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise UserError(f"unknown instance id(s): {', '.join(unknown[:5])}" + (" …" if len(unknown) > 5 else ""))
        wanted = set(ids)
        chosen = [i for i in chosen if i.instance_id in wanted]
    if pattern:
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise UserError(f"--filter {pattern!r} is not a regular expression: {exc}") from None
        chosen = [i for i in chosen if rx.search(i.instance_id)]
    if slice_:
        chosen = chosen[parse_slice(slice_)]
    if not chosen:
        raise UserError("no instance of the dataset matches --instances/--filter/--slice")
    return chosen
