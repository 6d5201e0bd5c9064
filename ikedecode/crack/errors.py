"""The error the PSK tools report to the user (kept apart so the CLI can name it without
importing the tools)."""


class PskToolError(Exception):
    """A problem with the request (nothing to crack, unwritable file): one line, exit status 2."""
