"""Pages to read runs by: `patchwright view` (one run, or one instance of a batch) and `patchwright
report` (a batch: a `run` or `eval` output directory).

Each page is one self-contained HTML file: styles, scripts and plots (inline SVG) are in it, nothing
is fetched. The content is in the HTML, readable without JavaScript (folds are `<details>`); the
script only adds search, filters, fold-all and the timeline's pointer.

The run directories are read defensively (their formats change): an unknown step kind is shown
generically, a missing file is shown as missing, and a run in progress (a torn last line) or a
crashed one still renders. Nothing below this package imports it.
"""

from .pages import render_report, render_run, write_report, write_run_page

__all__ = ["render_report", "render_run", "write_report", "write_run_page"]
