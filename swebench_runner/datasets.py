"""Datasets for batch runs, and choosing instances from them.

    builtin                 the built-in task suite (harness/builtin)
    PATH.jsonl              SWE-bench rows, one JSON object a line
    hf:NAME[:SPLIT]         a Hugging Face dataset through the `datasets` library (SPLIT: test)

Selection (`select`) keeps the dataset's order: `--instances` ids, then `--filter` (a regular
expression searched in each id), then `--slice A:B` (Python's slice of what is left).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from pydantic import ValidationError

from harness.instance import BUILTIN, Instance, load_instances
from sandbox.errors import UserError

HF_PREFIX = "hf:"


def load_dataset(name: str) -> list[Instance]:
    """The instances of a dataset named as above; a UserError (one line) when it cannot be read or
    holds no instance."""
    name = name.strip()
    if name.startswith(HF_PREFIX):
        instances = _load_hf(name[len(HF_PREFIX):])
    elif name == BUILTIN or Path(name).is_file():
        instances = load_instances(name)
    elif name.endswith((".jsonl", ".json")) or "/" in name:
        raise UserError(f"dataset file {name} does not exist")
    else:
        raise UserError(f"unknown dataset {name!r}: give `builtin`, a JSONL file of SWE-bench instances, "
                        "or hf:NAME[:SPLIT]")
    if not instances:
        raise UserError(f"dataset {name} holds no instances")
    return instances


def _load_hf(ref: str) -> list[Instance]:
    hf_name, _, split = ref.partition(":")
    if not hf_name:
        raise UserError("write a Hugging Face dataset as hf:NAME[:SPLIT], e.g. hf:princeton-nlp/SWE-bench_Lite:test")
    if importlib.util.find_spec("datasets") is None:
        raise UserError(f"hf:{ref} needs the `datasets` package (pip install datasets), or download the "
                        "dataset as JSONL and pass its path")
    # the Hugging Face datasets package is optional: imported for hf: datasets only
    import datasets

    try:
        rows = datasets.load_dataset(hf_name, split=split or "test")
    except Exception as exc:  # offline, unknown name, unknown split: the library's own words, one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise UserError(f"cannot load hf:{ref} from Hugging Face ({first}); offline, use a JSONL file of the "
                        "dataset instead") from None
    out = []
    for n, row in enumerate(rows, 1):
        try:
            out.append(Instance.model_validate(dict(row)))
        except ValidationError as exc:
            raise UserError(f"hf:{ref} row {n} is not a SWE-bench instance: {exc.errors()[0]['msg']}") from None
    seen: set[str] = set()
    for inst in out:
        if inst.instance_id in seen:
            raise UserError(f"instance id {inst.instance_id} appears twice in hf:{ref}")
        seen.add(inst.instance_id)
    return out


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
