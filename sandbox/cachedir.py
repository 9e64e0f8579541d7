"""Where patchwright keeps its caches (symbol index, the harness's repositories), one rule for all:
$PATCHWRIGHT_CACHE_DIR, else $PATCHWRIGHT_CACHE (the older name, still read), else
$XDG_CACHE_HOME/patchwright, else ~/.cache/patchwright."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_VAR = "PATCHWRIGHT_CACHE_DIR"
OLD_CACHE_VAR = "PATCHWRIGHT_CACHE"


def cache_dir() -> Path:
    """The cache directory as the environment names it now (it need not exist yet)."""
    named = os.environ.get(CACHE_VAR) or os.environ.get(OLD_CACHE_VAR)
    if named:
        return Path(named)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "patchwright"
