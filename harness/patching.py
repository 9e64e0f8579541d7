"""Apply a unified diff inside a workspace: `git apply`, then `patch --fuzz` as a fallback."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .workspace import Workspace

PATCH_FUZZ = "patch --batch --fuzz=5 -p1 -i"
"""The last resort: GNU patch with fuzz."""


@dataclass
class PatchResult:
    """What applying a patch did."""

    applied: bool
    """Whether the patch is in the tree now."""
    method: str
    """`git apply`, `patch --fuzz`, `empty` (nothing to apply) or `failed`."""
    output: str
    """What the tools printed (every attempt, in order)."""


def _clean(patch: str) -> str:
    return patch if patch.endswith("\n") else patch + "\n"


def apply_patch(ws: Workspace, patch: str | None, *, timeout: float = 120) -> PatchResult:
    """Apply `patch` at the workspace root. A patch that does not apply leaves the tree as it was."""
    if not patch or not patch.strip():
        return PatchResult(True, "empty", "")
    path = f"/tmp/patchwright-{uuid.uuid4().hex[:12]}.diff"
    ws.write_file(path, _clean(patch))
    log: list[str] = []
    try:
        res = ws.run(f"git apply --verbose {path}", timeout)
        log.append(f"$ git apply --verbose\n{res.output}")
        if res.ok:
            return PatchResult(True, "git apply", "".join(log))
        # GNU patch with fuzz; --dry-run first so that a failure leaves nothing half-applied
        res = ws.run(f"{PATCH_FUZZ} {path} --dry-run", timeout)
        log.append(f"$ {PATCH_FUZZ} --dry-run\n{res.output}")
        if res.ok:
            res = ws.run(f"{PATCH_FUZZ} {path} --no-backup-if-mismatch", timeout)
            log.append(f"$ {PATCH_FUZZ}\n{res.output}")
            if res.ok:
                ws.run("find . -name '*.orig' -newer " + path + " -delete 2>/dev/null; true", 60)
                return PatchResult(True, "patch --fuzz", "".join(log))
        return PatchResult(False, "failed", "".join(log))
    finally:
        ws.run(f"rm -f {path}", 30)


def patch_files(patch: str) -> list[tuple[str, str]]:
    """(old path, new path) of each file a unified diff touches; /dev/null for created or deleted ones."""
    from unidiff import PatchSet

    out = []
    for f in PatchSet(patch):
        out.append((_strip(f.source_file), _strip(f.target_file)))
    return out


def _strip(name: str) -> str:
    return name[2:] if name.startswith(("a/", "b/")) else name
