"""Task instances and predictions: SWE-bench's records, read from JSONL (or the built-in suite).

An `Instance` carries the SWE-bench fields plus the optional ones newer dataset releases add
(`image`, `eval_script`, `log_parser`, `eval_type`) and our own `spec` (an inline environment
spec). A `Prediction` is one line of SWE-bench's predictions JSONL.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sandbox.errors import UserError

from .builtin import builtin_records
from .paths import check_id, id_problem

BUILTIN = "builtin"
HF_PREFIX = "hf:"
"""The dataset name of the built-in task suite."""


def _test_list(value: Any) -> list[str]:
    """SWE-bench stores FAIL_TO_PASS / PASS_TO_PASS as JSON text in some releases, lists in others."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError("must be a list of test names (or JSON text of one)") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of test names")
    return value


class Instance(BaseModel):
    """One task: a repository at a commit, an issue, the gold fix and the tests that judge a fix."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    instance_id: str
    """Unique id, `owner__name-NUMBER` by SWE-bench's convention."""
    repo: str
    """Repository as `owner/name`; its git source comes from `--mirrors DIR` or a clone."""
    base_commit: str
    """The commit the issue was filed against; the workspace starts there."""
    problem_statement: str = ""
    """The issue text the agent is given."""
    patch: str = ""
    """The gold fix (unified diff); `--predictions gold` evaluates it."""
    test_patch: str = ""
    """Tests added or changed with the fix; applied before the tests run."""
    FAIL_TO_PASS: list[str] = Field(default_factory=list)
    """Tests that fail before the fix and must pass after it."""
    PASS_TO_PASS: list[str] = Field(default_factory=list)
    """Tests that pass before the fix and must still pass after it."""
    version: str = ""
    """The repository's release line; selects the environment spec."""
    environment_setup_commit: str = ""
    """The commit whose requirement files the environment is built from (base_commit when empty)."""
    hints_text: str = ""
    """Comments on the issue before the fix (not shown to the agent by default)."""
    created_at: str = ""
    """When the fix was made."""
    image: str | None = None
    """A ready instance image (newer SWE-bench releases); used instead of building one."""
    spec: dict[str, Any] | None = None
    """An inline environment spec (fields of harness.specs.Spec); wins over shipped specs."""
    eval_script: str | None = None
    """A ready evaluation script (newer releases): run after the model patch instead of our test step."""
    log_parser: str | None = None
    """The log parser by name (official names such as `parse_log_pytest` are accepted)."""
    eval_type: str | None = None
    """`pass_and_fail` (default) or `fail_only` (a test absent from the log counts as passed)."""

    @field_validator("instance_id")
    @classmethod
    def _safe_id(cls, v: str) -> str:
        return check_id(v)

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> list[str]:
        return _test_list(v)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> str:
        return "" if v is None else str(v)

    @property
    def reference(self) -> str:
        """Where the issue comes from, as the agent is told it: the repository, and the pull request
        number an `owner__name-NUMBER` id carries (SWE-bench's ids name the pull request that
        resolved the issue)."""
        m = re.fullmatch(r".+?__.+-(\d+)", self.instance_id)
        if not m:
            return f"the repository {self.repo}"
        return (f"the repository {self.repo}; SWE-bench instance {self.instance_id}, named after the pull request "
                f"that resolved the issue (#{m.group(1)}; the issue's own number may differ)")

    @property
    def repo_slug(self) -> str:
        """`owner__name`, the directory name of the repository's mirror."""
        return self.repo.replace("/", "__")


class Prediction(BaseModel):
    """One line of a predictions file (SWE-bench's format)."""

    model_config = ConfigDict(extra="allow")

    instance_id: str
    """The instance this patch is for."""
    model_name_or_path: str = "unknown"
    """Who made the patch."""
    model_patch: str | None = None
    """The patch (unified diff); None or "" is an empty prediction."""

    @field_validator("instance_id")
    @classmethod
    def _safe_id(cls, v: str) -> str:
        return check_id(v)


class LineError(BaseModel):
    """A line of a JSONL file that could not be read."""

    path: str
    """The file."""
    line: int
    """1-based line number."""
    message: str
    """What is wrong with it."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """(line number, the line's JSON object or why it is not one) for each non-blank line of a
    JSONL file. A line that is not UTF-8 text or not a JSON object is reported and the next one is
    read; a missing file is a UserError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not a JSONL file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    for n, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield n, LineError(path=str(path), line=n, message=f"not UTF-8 text (byte 0x{raw[exc.start]:02x} "
                                                                f"at column {exc.start + 1})")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, LineError(path=str(path), line=n, message=f"not JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            yield n, LineError(path=str(path), line=n, message="not a JSON object")
            continue
        yield n, obj


def _read_jsonl(path: Path, model: type[BaseModel]) -> tuple[list[tuple[int, Any]], list[LineError]]:
    """(line number, record) of each good line, and the bad lines. An instance id that is not one
    safe path component is a UserError naming the line: ids become directory names."""
    records, errors = [], []
    for n, obj in jsonl_objects(path):
        if isinstance(obj, LineError):
            errors.append(obj)
            continue
        iid = obj.get("instance_id")
        if isinstance(iid, str) and (problem := id_problem(iid)):
            raise UserError(f"{path}:{n}: unsafe instance id: {problem}; ids name directories, so each must be "
                            "one path component")
        try:
            records.append((n, model.model_validate(obj)))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            errors.append(LineError(path=str(path), line=n, message=f"{where}: {first['msg']}"))
    return records, errors


def load_instances(dataset: str | Path, ids: list[str] | None = None, *, strict: bool = True) -> list[Instance]:
    """The instances of a dataset: `builtin` (the built-in suite), a JSONL path, or hf:NAME[:SPLIT]
    (a Hugging Face dataset through the optional `datasets` library; SPLIT: test).

    `ids` keeps only those instances (in the dataset's order); an id the dataset lacks is a
    UserError. With strict=True a malformed line is a UserError naming its line number.
    """
    name = str(dataset).strip()
    if name.startswith(HF_PREFIX):
        instances = _load_hf(name[len(HF_PREFIX):])
    elif name == BUILTIN:
        instances = [Instance(**record) for record in builtin_records()]
    elif not Path(name).is_file():
        if name.endswith((".jsonl", ".json")) or "/" in name:
            raise UserError(f"no such file: {name} (the dataset file does not exist)")
        raise UserError(f"unknown dataset {name!r}: give `builtin`, a JSONL file of SWE-bench instances, "
                        "or hf:NAME[:SPLIT]")
    else:
        rows, errors = _read_jsonl(Path(dataset), Instance)
        instances = [inst for _n, inst in rows]
        if errors and strict:
            raise UserError(f"malformed dataset line: {errors[0]}" +
                            (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    seen: set[str] = set()
    for inst in instances:
        if inst.instance_id in seen:
            raise UserError(f"instance id {inst.instance_id} appears twice in {dataset}")
        seen.add(inst.instance_id)
    if ids:
        unknown = [i for i in ids if i not in seen]
        if unknown:
            raise UserError(f"unknown instance id(s) in {dataset}: {', '.join(unknown[:5])}"
                            + (" …" if len(unknown) > 5 else ""))
        wanted = set(ids)
        instances = [i for i in instances if i.instance_id in wanted]
    return instances


@dataclass
class Duplicate:
    """An instance id that more than one line of a predictions file names."""

    instance_id: str
    lines: list[int]
    """The lines, in order; the last one is the prediction that counts."""

    def __str__(self) -> str:
        return (f"{self.instance_id} on lines {', '.join(map(str, self.lines))}: line {self.lines[-1]} "
                "(the last) is scored")


def load_predictions(path: str | Path) -> tuple[dict[str, Prediction], list[LineError], list[Duplicate]]:
    """Predictions by instance id, the lines that could not be read (with their numbers), and the
    ids named by more than one line.

    A later line for the same instance replaces an earlier one, as in SWE-bench's own harness.
    """
    rows, errors = _read_jsonl(Path(path), Prediction)
    preds: dict[str, Prediction] = {}
    lines: dict[str, list[int]] = {}
    for n, p in rows:
        preds[p.instance_id] = p
        lines.setdefault(p.instance_id, []).append(n)
    duplicates = [Duplicate(iid, ns) for iid, ns in lines.items() if len(ns) > 1]
    return preds, errors, duplicates


def synthetic_predictions(instances: list[Instance], kind: str) -> dict[str, Prediction]:
    """`gold` (each instance's own fix) or `empty` predictions for instances."""
    if kind not in ("gold", "empty"):
        raise ValueError(kind)
    return {i.instance_id: Prediction(instance_id=i.instance_id, model_name_or_path=kind,
                                      model_patch=i.patch if kind == "gold" else "") for i in instances}


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
