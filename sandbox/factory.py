"""Open a workspace by kind: a Docker container (on the base image unless one is named) or a
private local copy. What `patchwright fix` and `patchwright exec` run in."""

from __future__ import annotations

from .docker_workspace import DockerWorkspace
from .images import ensure_base_image
from .workspace import LocalWorkspace, Workspace, resolve_repo


def open_workspace(repo: str, kind: str, image: str | None, network: bool = False, timeout: float = 600,
                   progress=None) -> Workspace:
    """A workspace of `kind` ("docker" or "local") holding a copy of `repo`."""
    source = resolve_repo(repo)  # a bad path is reported before any image work starts
    if kind == "local":
        return LocalWorkspace(source, timeout=timeout)
    if image is None:
        image = ensure_base_image("3.11", progress=progress)
    return DockerWorkspace(image, source, network=network, timeout=timeout)
