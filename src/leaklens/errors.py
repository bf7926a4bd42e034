"""Errors the CLI turns into one clear line and a non-zero exit (never a traceback)."""


class LeaklensError(Exception):
    """A problem with the user's input or environment, stated in one line."""

    exit_code = 2


class UsageError(LeaklensError):
    exit_code = 1
