"""The GitHub bot (an application): event handling (event.py), the REST client (client.py), the texts it writes
(render.py), the run itself (bot.py), and the seam to the fix pipeline (fixer.py)."""

from .fixer import Fixer, FixOptions, FixOutcome

__all__ = ["FixOptions", "FixOutcome", "Fixer"]
