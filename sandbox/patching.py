"""Apply a unified diff inside a workspace: `git apply`, then `patch --fuzz` as a fallback."""

from __future__ import annotations

import base64
import shlex
import uuid
from dataclasses import dataclass

from unidiff import PatchSet

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


def patch_files(patch: str) -> list[tuple[str, str]]:
    """(old path, new path) of each file a unified diff touches; /dev/null for created or deleted ones.

    Names git quotes (`"a/q\\"uote.py"`: quotes, backslashes, tabs, newlines, and non-ASCII bytes
    unless core.quotepath is off) come back as the real file names.
    """
    out = []
    for f in PatchSet(patch):
        out.append((_strip(unquote_path(f.source_file)), _strip(unquote_path(f.target_file))))
    return out


def file_path(f) -> str:
    """The path of one file of a unidiff PatchSet: its new path (the old one when it is deleted),
    unquoted, without the a/ b/ prefix."""
    return _strip(unquote_path(f.target_file if f.target_file != "/dev/null" else f.source_file))


def files_changed(patch: str) -> list[str]:
    """The files a patch changes (new paths; old paths of deleted files), sorted: what a run's
    summary lists, always derived from the patch text itself."""
    if not patch.strip():
        return []
    return sorted({new if new != "/dev/null" else old for old, new in patch_files(patch)})


_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote_path(name: str) -> str:
    """A path as git prints it in a diff, C-quoted (`"a/tab\\there"`, octal escapes for bytes) or
    not, as the real name (bytes that are not UTF-8 kept as surrogate escapes)."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\" or i + 1 == len(body):
            out += c.encode("utf-8", "surrogateescape")
            i += 1
        elif body[i + 1] in _C_ESCAPES:
            out.append(_C_ESCAPES[body[i + 1]])
            i += 2
        elif body[i + 1:i + 4].isdigit() and len(body[i + 1:i + 4]) == 3:
            out.append(int(body[i + 1:i + 4], 8) & 0xFF)
            i += 4
        else:
            out += c.encode()
            i += 1
    return out.decode("utf-8", "surrogateescape")


def _strip(name: str) -> str:
    return name[2:] if name.startswith(("a/", "b/")) else name


def _diff_sections(diff: str) -> dict[str, str] | None:
    """{path: its section} of a `git diff --no-renames` output; None when a path is quoted (then
    its name cannot be read back simply)."""
    sections: dict[str, str] = {}
    starts = [0] if diff.startswith("diff --git ") else []
    at = diff.find("\ndiff --git ")
    while at >= 0:
        starts.append(at + 1)
        at = diff.find("\ndiff --git ", at + 1)
    if diff and starts[:1] != [0]:
        return None
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(diff)
        nl = diff.find("\n", start, end)
        header = diff[start:nl if nl >= 0 else end]
        names = header[len("diff --git "):]
        half = (len(names) - 1) // 2
        a, b = names[:half], names[half + 1:]
        if names.startswith('"') or not (a.startswith("a/") and b.startswith("b/") and a[2:] == b[2:]):
            return None
        sections[a[2:]] = diff[start:end]
    return sections


def splice_diff(diff: str, update: str, paths: list[str]) -> str | None:
    """`diff` (a workspace's whole `git diff --no-renames`) with the sections of `paths` replaced by
    those in `update` (the same diff limited to `paths`), in git's order; None when either cannot be
    split by file (take the whole diff again then)."""
    old, new = _diff_sections(diff), _diff_sections(update)
    if old is None or new is None or not set(new) <= set(paths):
        return None
    for p in paths:
        old.pop(p, None)
    old.update(new)
    return "".join(old[p] for p in sorted(old, key=lambda p: p.encode("utf-8", "surrogateescape")))
