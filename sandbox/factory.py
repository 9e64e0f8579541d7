"""Open a workspace by kind: a Docker container or a private local copy. What `patchwright fix`,
`exec` and `github` run in.

A Docker workspace without a named image starts from the repository's detected environment
(`sandbox.environment`: its dependencies and test dependencies installed, built once and reused
until a dependency file changes); a repository that is not a Python project gets the base image.
The workspace's `environment` says which (and what is missing); it is None for a named image.
"""

from __future__ import annotations

from .docker_workspace import DockerWorkspace
from .environment import environment_for, open_environment
from .images import ensure_base_image
from .workspace import LocalWorkspace, Workspace, resolve_repo


def open_workspace(repo: str, kind: str, image: str | None, network: bool = False, timeout: float = 600,
                   progress=None, environment: bool = True, setup: list[str] | None = None) -> Workspace:
    """A workspace of `kind` ("docker" or "local") holding a copy of `repo`.

    Docker: `image` when given, else the repository's environment with `setup` commands added
    (`environment=False`: the base image).
    """
    source = resolve_repo(repo)  # a bad path is reported before any image work starts
    if kind == "local":
        return LocalWorkspace(source, timeout=timeout)
    if image is None and environment:
        env = environment_for(source, say=progress, setup=setup)
        ws = open_environment(env, source, network=network, timeout=timeout)
        ws.environment = env
        return ws
    if image is None:
        image = ensure_base_image("3.11", progress=progress)
    return DockerWorkspace(image, source, network=network, timeout=timeout)
