"""A batch run's directory: what is finished, what it produced, and the manifest that ties it together.

    OUT/manifest.json              the dataset, the model, and each invocation (options, start, end, outcome)
    OUT/predictions.jsonl          one line per finished instance, SWE-bench's format
                                   (instance_id, model_name_or_path, model_patch), appended and fsynced
    OUT/INSTANCE_ID/               result.json (the runner's record), summary.json, patch.diff,
                                   trajectory.jsonl, run.json; with --eval report.json,
                                   test_output.txt, outcome.json; image_build.log when one was built
    OUT/summary.json               the last invocation's summary (what `run --json` prints)
    OUT/eval/summary.json, .md     with --eval: the harness's summary of the graded instances
    OUT/.work/                     instances in flight (removed when an invocation starts)
    OUT/.patchwright.lock          the lock an invocation holds while it runs (sandbox.lock)

An instance is finished when its line is in predictions.jsonl. Its directory is written (to a
temporary name, then renamed) before that line is appended, so a run killed at any point loses at
most the instances in flight, and a torn last line (a kill mid-write) is cut off on the next start.
One invocation at a time: a second one on a directory in use is refused before it touches anything.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from harness.instance import LineError, jsonl_objects
from harness.paths import id_problem, inside
from sandbox.errors import UserError
from sandbox.lock import LOCK_FILE, DirLock

from .task import InstanceRecord, InstanceResult

MANIFEST, PREDICTIONS, RESULT, SUMMARY, WORK = (
    "manifest.json", "predictions.jsonl", "result.json", "summary.json", ".work")


class Manifest(BaseModel):
    """OUT/manifest.json."""

    dataset: str
    """The dataset the run is over (as given to --dataset)."""
    model: str
    """The model spec."""
    model_name_or_path: str
    """The name the predictions carry."""
    created: str
    """When the first invocation started (ISO 8601 UTC)."""
    invocations: list[dict] = Field(default_factory=list)
    """One entry per invocation: started, ended, options, selected, ran, stopped."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_atomic(path: Path, text: str | bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(text.encode("utf-8") if isinstance(text, str) else text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class RunStore:
    """The run directory OUT (see the module's docstring)."""

    def __init__(self, out: str | Path):
        self.out = Path(out).resolve()
        self.predictions = self.out / PREDICTIONS
        self.work_root = self.out / WORK
        self.manifest: Manifest | None = None
        self.lock = DirLock(self.out, what="run", hint="choose another --out directory")

    # -- opening -------------------------------------------------------------------------------------
    def open(self, dataset: str, model: str, model_name_or_path: str) -> None:
        """Take the directory's lock (a DirectoryBusy error, nothing touched, when another run holds
        it); create the directory or check that it holds a run of the same dataset and model; clear
        what the instances in flight of a killed invocation left; cut a torn last prediction line.
        `close()` gives the lock back."""
        if not (self.out / MANIFEST).exists():
            self._check_empty()
        self.lock.acquire()
        try:
            self._open(dataset, model, model_name_or_path)
        except BaseException:
            self.lock.release()
            raise

    def close(self) -> None:
        """Give the directory's lock back (the kernel does it too when the process ends)."""
        self.lock.release()

    def _check_empty(self) -> None:
        if self.out.exists() and any(p.name != LOCK_FILE for p in self.out.iterdir()):
            raise UserError(f"{self.out} is not empty and holds no patchwright run ({MANIFEST}); choose a "
                            "new or empty --out directory")

    def _open(self, dataset: str, model: str, model_name_or_path: str) -> None:
        path = self.out / MANIFEST
        if path.exists():
            try:
                self.manifest = Manifest.model_validate_json(path.read_text())
            except (ValidationError, ValueError):
                raise UserError(f"{path} is malformed; choose another --out directory") from None
            if self.manifest.model != model:
                raise UserError(f"{self.out} holds a run of model {self.manifest.model}: resume it with that "
                                "--model, or choose another --out directory")
            if self.manifest.dataset != dataset:
                raise UserError(f"{self.out} holds a run over dataset {self.manifest.dataset}: resume it with "
                                "that --dataset, or choose another --out directory")
        else:
            self._check_empty()
            self.manifest = Manifest(dataset=dataset, model=model, model_name_or_path=model_name_or_path,
                                     created=_now())
            self._save_manifest()
        shutil.rmtree(self.work_root, ignore_errors=True)
        for stale in self.out.glob(".*.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        self._cut_torn_line()

    def _save_manifest(self) -> None:
        _write_atomic(self.out / MANIFEST, self.manifest.model_dump_json(indent=2) + "\n")

    def _cut_torn_line(self) -> None:
        if not self.predictions.exists():
            return
        data = self.predictions.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.predictions.open("r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)

    def begin(self, entry: dict) -> int:
        """Record an invocation's start; returns its index."""
        self.manifest.invocations.append({"started": _now(), **entry})
        self._save_manifest()
        return len(self.manifest.invocations) - 1

    def end(self, index: int, **outcome) -> None:
        self.manifest.invocations[index].update(ended=_now(), **outcome)
        self._save_manifest()

    # -- reading -------------------------------------------------------------------------------------
    def _rows(self) -> list[tuple[int, dict]]:
        """(line number, object) of predictions.jsonl's readable lines with a safe instance id."""
        if not self.predictions.exists():
            return []
        return [(n, row) for n, row in jsonl_objects(self.predictions)
                if not isinstance(row, LineError) and id_problem(row.get("instance_id")) is None]

    def finished(self) -> dict[str, str]:
        """Finished instances: id -> model_patch, from predictions.jsonl (unreadable lines skipped)."""
        return {row["instance_id"]: row.get("model_patch") or "" for _n, row in self._rows()}

    def record(self, instance_id: str) -> InstanceRecord | None:
        """OUT/INSTANCE_ID/result.json, None when absent or unreadable."""
        try:
            return InstanceRecord.model_validate_json((inside(self.out, instance_id) / RESULT).read_text())
        except (OSError, ValidationError, ValueError, UserError):
            return None

    # -- writing -------------------------------------------------------------------------------------
    def forget(self, ids: set[str]) -> None:
        """Drop finished instances (for --redo): their prediction lines and their directories."""
        if not ids:
            return
        dirs = [inside(self.out, i) for i in ids]  # refused before anything is removed
        if self.predictions.exists():
            drop = {n for n, row in self._rows() if row["instance_id"] in ids}
            lines = self.predictions.read_bytes().split(b"\n")
            keep = b"".join(line + b"\n" for n, line in enumerate(lines, 1) if n not in drop and line.strip())
            _write_atomic(self.predictions, keep)
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)

    def save(self, result: InstanceResult) -> None:
        """Write the instance's directory, then (when the agent finished) append its prediction."""
        rec = result.record
        final = inside(self.out, rec.instance_id)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=self.out))
        try:
            for rel, data in result.files.items():
                path = inside(tmp, rel)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        except UserError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        summary = tmp / "summary.json"
        if summary.exists():  # the agent wrote it where the worker ran; point it here
            try:
                data = json.loads(summary.read_text())
                data["run_dir"] = str(final)
                summary.write_text(json.dumps(data, indent=2) + "\n")
            except ValueError:
                pass
        (tmp / RESULT).write_text(rec.model_dump_json(indent=2) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        if rec.finished:
            line = json.dumps({"instance_id": rec.instance_id, "model_name_or_path": rec.model_name_or_path,
                               "model_patch": result.patch})
            with self.predictions.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def update_record(self, rec: InstanceRecord) -> None:
        _write_atomic(inside(self.out, rec.instance_id) / RESULT, rec.model_dump_json(indent=2) + "\n")

    def write_summary(self, summary: dict) -> None:
        _write_atomic(self.out / SUMMARY, json.dumps(summary, indent=2) + "\n")
