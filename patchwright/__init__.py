"""patchwright: an autonomous repository-level coding agent.

The public Python API is assembled here from the layers below (agent, tools, harness,
swebench_runner); the `patchwright` command lives in `patchwright.cli`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("patchwright")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "evaluate", "fix", "localize", "resume", "run"]


def __getattr__(name: str):
    if name in ("evaluate", "fix", "localize", "resume", "run"):
        # the API loads the agent and the model SDKs: imported on first use, so the command starts fast
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'patchwright' has no attribute {name!r}")
