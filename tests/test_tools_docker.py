"""The tools against a DockerWorkspace: the same calls, every read and write a round trip into the
container; the index stays fresh after commands that change files."""

from __future__ import annotations

import pytest
from tool_helpers import ok, refused

from conftest import make_repo
from tools.context import ToolContext

pytestmark = pytest.mark.docker

SRC = "import os\n\n\ndef area(r):\n    return 3 * r * r\n\n\nclass Shape:\n    def name(self):\n        return 'shape'\n"


def test_tools_in_a_container(tmp_path, base_image):
    from sandbox.docker_workspace import DockerWorkspace

    repo = make_repo(tmp_path / "repo", {"geo/shapes.py": SRC, ".gitignore": "*.log\n"})
    with DockerWorkspace(base_image, repo) as ws:
        ctx = ToolContext(ws, index_cache=False)
        assert "geo/shapes.py:4: def area(r):" in ok(ctx, "search", pattern=r"def \w+\(r\)")
        assert "geo/shapes.py:area (function, lines 4-5)" in ok(ctx, "view_symbol", name="area")
        ok(ctx, "replace_symbol", name="area", new_source="def area(r):\n    return 3.14159 * r * r\n")
        assert ws.read_bytes("geo/shapes.py") == SRC.replace("3 * r", "3.14159 * r").encode()
        assert "Edit refused" in refused(ctx, "replace_symbol", name="Shape.name", new_source="def name(self):\n  return (")
        ok(ctx, "bash", command="printf '\\n\\ndef perimeter(r):\\n    return 6 * r\\n' >> geo/shapes.py && touch x.log")
        assert "geo/shapes.py:perimeter" in ok(ctx, "find_symbol", name="perimeter")
        assert "x.log" not in ok(ctx, "list_dir")
        ok(ctx, "create_file", path="geo/new.py", content="def f():\n    return 1\n")
        ok(ctx, "undo_edit", path="geo/new.py")
        assert not ws.exists("geo/new.py")
        diff = ws.diff()
        assert "+    return 3.14159 * r * r" in diff and "+def perimeter(r):" in diff and "new.py" not in diff
