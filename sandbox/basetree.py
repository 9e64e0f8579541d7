"""The base tree in the same sandbox: put some files back as they are at the workspace's base commit
for the length of a block, then restore them exactly.

`with base_tree(ws, paths): ...` saves the current `paths` (a tar archive in the workspace's private
directory), writes each as it is at `ws.base_commit` (or removes it when the base has no such file),
and on leaving restores the saved ones and removes the files the block created among `paths`. The
agent runs the tests on the base tree this way: the source files of the change go back, the test
files stay, and the same interpreter, installed packages and paths are used (an editable install
keeps pointing at the same directory).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager

from .workspace import Workspace


def _quoted(paths: list[str]) -> str:
    return " ".join(shlex.quote(p) for p in paths)


@contextmanager
def base_tree(ws: Workspace, paths: list[str]) -> Iterator[None]:
    """`paths` (relative to the root) as they are at the base commit inside the block."""
    if not paths:
        yield
        return
    save = shlex.quote(f"{ws._private_dir()}/base-tree-save.tar")
    base = ws.base_commit
    script = (
        "set -e\n"
        f"mkdir -p \"$(dirname {save})\"\n"
        f"for p in {_quoted(paths)}; do if [ -e \"$p\" ] || [ -L \"$p\" ]; then printf '%s\\0' \"$p\"; fi; done "
        f"> {save}.list\n"
        f"tar -cf {save} --null -T {save}.list\n"
        f"for p in {_quoted(paths)}; do\n"
        f"  if git cat-file -e {base}:\"$p\" 2>/dev/null; then mkdir -p \"$(dirname \"$p\")\"; "
        f"git cat-file blob {base}:\"$p\" > \"$p\"; else rm -f \"$p\"; fi\n"
        "done\n"
    )
    res = ws.run(script, 120)
    if res.exit_code != 0:
        ws.run(f"tar -xf {save} 2>/dev/null", 120)
        raise RuntimeError(f"could not put the base tree in place: {res.output.strip()[-300:]}")
    try:
        yield
    finally:
        back = ws.run(f"rm -f {_quoted(paths)} && tar -xf {save} && rm -f {save} {save}.list", 120)
        if back.exit_code != 0:
            raise RuntimeError(f"could not restore the change after a run on the base tree: {back.output.strip()[-300:]}")
