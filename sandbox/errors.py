"""Errors patchwright words itself: one line, no traceback. The command line prints the line and exits
with the error's `exit_code`.

    PatchwrightError          exit 1 unless a subclass says otherwise
    ├── UserError             exit 2: the user can fix it (a bad path, a missing engine, a malformed file)
    └── SystemFault           exit 1: the user did not cause it (a service failing after retries, a broken
                              shipped file); PATCHWRIGHT_DEBUG=1 shows the traceback

Anything else that escapes is a bug: exit 1, one line, the traceback with PATCHWRIGHT_DEBUG=1.
"""


class PatchwrightError(Exception):
    """An error with a message meant for the user: one line that says what is wrong and, where it
    helps, what to do."""

    exit_code = 1


class UserError(PatchwrightError):
    """Something the user can fix: a bad path, a missing engine, a malformed file, a bad option."""

    exit_code = 2


class SystemFault(PatchwrightError):
    """Something the user did not cause and cannot fix by changing what they passed: a service that
    kept failing after retries, a template shipped with patchwright that does not render."""

    exit_code = 1


class DockerUnavailable(UserError):
    """No Docker engine answers."""


class ImageNotFound(UserError):
    """An image named by the user (or a spec) does not exist and cannot be built here."""
