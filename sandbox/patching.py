"""Apply a unified diff inside a workspace: `git apply`, then `patch --fuzz` as a fallback."""

from __future__ import annotations

import base64
import shlex
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


INLINE_MAX = 60_000
"""Files up to this size travel inside the command that uses them (one round trip instead of three)."""


def _clean(patch: str) -> str:
    return patch if patch.endswith("\n") else patch + "\n"


def put_file_script(ws: Workspace, path: str, text: str) -> str:
    """Shell lines that create `path` with `text`: the text inline (base64) when small, else written now."""
    data = text.encode("utf-8", errors="surrogateescape")
    if len(data) > INLINE_MAX:
        ws.write_bytes(path, data)
        return ""
    return f"printf '%s' {base64.b64encode(data).decode()} | base64 -d > {shlex.quote(path)}\n"


def apply_patch(ws: Workspace, patch: str | None, *, timeout: float = 120) -> PatchResult:
    """Apply `patch` at the workspace root. A patch that does not apply leaves the tree as it was.

    One file write and one command: `git apply`, else GNU patch with fuzz (a dry run first, so
    that a failure leaves nothing half-applied).
    """
    if not patch or not patch.strip():
        return PatchResult(True, "empty", "")
    token = uuid.uuid4().hex[:12]
    # the patch file sits in the repository root for the moment it is needed (a LocalWorkspace
    # allows no path outside it); the script removes it before anything looks at the tree
    path = f".patchwright-{token}.diff"
    mark = f"@@patchwright-{token}:"
    script = put_file_script(ws, path, _clean(patch)) + (
        f"f={path}\n"
        "echo '$ git apply --verbose'\n"
        f"if git apply --verbose \"$f\" 2>&1; then rm -f \"$f\"; echo '{mark}git apply'; exit 0; fi\n"
        f"echo '$ {PATCH_FUZZ} --dry-run'\n"
        f"if {PATCH_FUZZ} \"$f\" --dry-run 2>&1; then\n"
        f"  echo '$ {PATCH_FUZZ}'\n"
        f"  if {PATCH_FUZZ} \"$f\" --no-backup-if-mismatch 2>&1; then rm -f \"$f\"; echo '{mark}patch --fuzz'; exit 0; fi\n"
        "fi\n"
        f"rm -f \"$f\"; echo '{mark}failed'; exit 1\n"
    )
    res = ws.run(script, timeout)
    output, _, method = res.output.rpartition(mark)
    method = method.strip()
    if method not in ("git apply", "patch --fuzz"):
        ws.run(f"rm -f {path}", 30)
        return PatchResult(False, "failed", res.output if not output else output)
    return PatchResult(True, method, output)
