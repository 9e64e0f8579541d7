"""Errors a user can cause. The command line turns them into one line and a non-zero exit."""


class UserError(Exception):
    """Something the user can fix: a bad path, a missing engine, a malformed file.

    The message is one line that says what is wrong and, where it helps, what to do.
    """

    exit_code = 2


class DockerUnavailable(UserError):
    """No Docker engine answers."""


class ImageNotFound(UserError):
    """An image named by the user (or a spec) does not exist and cannot be built here."""
