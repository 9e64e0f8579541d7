"""Shell and test tools: a command in the workspace (timeout, capped output) and the hook through
which the agent runs the repository's tests."""

from __future__ import annotations

from .context import ToolContext, ToolError
from .effects import Effect, effect
from .text import cap_text

MAX_TIMEOUT = 3600
HEAD_CHARS = 3_000
TAIL_CHARS = 7_000


def cap_output(text: str, head: int = HEAD_CHARS, tail: int = TAIL_CHARS) -> str:
    """`text` cut to about its first `head` and last `tail` characters around a marker saying how
    many lines and characters are not shown."""
    return cap_text(text, head, tail)


@effect(Effect.ANY)
def bash(ctx: ToolContext, command: str, timeout: int = 120) -> str:
    """Run a shell command in the repository root (bash) and show its exit code and output (stdout
    and stderr together; long output keeps its beginning and end). Use it to run scripts and tests,
    or for what the other tools do not cover; prefer the editing tools for changing code.

    Args:
        command: The command line, e.g. `python -m pytest tests/test_x.py -x -q`.
        timeout: Seconds before the command is killed (at most 3600).
    """
    if not command or not command.strip():
        raise ToolError("command is empty")
    if timeout < 1:
        raise ToolError(f"timeout must be at least 1 second (got {timeout})")
    timeout = min(timeout, MAX_TIMEOUT)
    try:
        res = ctx.workspace.run(command, timeout, max_output=200_000)
    finally:
        ctx.invalidate()
    head = f"exit code {res.exit_code}"
    if res.timed_out:
        head += f" (timed out after {timeout}s; everything the command started was killed)"
    head += "".join(f"\nnote: {note}" for note in res.notes)
    output = res.output.rstrip("\n")
    return f"{head}\n{cap_output(output) if output else '(no output)'}"


@effect(Effect.ANY)
def run_tests(ctx: ToolContext, tests: list[str] | None = None) -> str:
    """Run the repository's tests (those chosen for the change, or the given test ids) and show
    which passed and which failed, each also on the base tree (new failures told from old ones).

    Args:
        tests: Test ids or files to run (e.g. `tests/test_x.py::test_y`); omit for the tests chosen
            for the change: its own first (the reproduction test, tests of the changed modules),
            then related ones, as many as fit the time budget (the answer names those left out).
    """
    if ctx.test_runner is None:
        raise ToolError("no test command is set up for this repository; run the tests with bash "
                        "(e.g. `python -m pytest path/to/test_file.py -x -q`)")
    try:
        return ctx.test_runner(ctx, tests)
    finally:
        ctx.invalidate()
