"""Writing a report: to standard output in an encoding it can take, or to ``--output`` through a
partial file renamed when complete, owner-only when it holds secrets (the CLI's output edge)."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Callable
from typing import TextIO

import click

UTF8_FORMATS = frozenset({"markdown", "html", "json"})  # files that say (or assume) UTF-8


class UserError(Exception):
    """A problem with the user's input: reported as one line, exit status 2."""


class Echo:
    """Standard output as a stream for a streamed renderer, written as ``click.echo`` writes."""

    @staticmethod
    def write(text: str) -> None:
        click.echo(text, nl=False)


def create(path: str, secret: bool) -> TextIO:
    """``path`` opened for writing as UTF-8; with secrets in it (``--show-keys``) readable by its
    owner only (0600, like the Wireshark exports), also when it existed with a wider mode."""
    if not secret:
        return open(path, "w", encoding="utf-8")  # noqa: SIM115 - the caller closes it
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)  # an existing file keeps its mode on O_TRUNC
        return os.fdopen(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def echo_report(text: str, fmt: str) -> None:
    """The report on standard output. Where its encoding cannot write the report (LANG=C,
    PYTHONIOENCODING=ascii), Markdown, HTML and JSON go out as UTF-8 (what they declare) and the
    terminal formats with the characters it lacks written as escapes, instead of a crash.
    (A text stream encodes what it is given before it writes any of it: nothing is written twice.)"""
    try:
        click.echo(text, nl=False)
        return
    except UnicodeEncodeError:
        pass
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if fmt in UTF8_FORMATS:
        data = text.encode("utf-8", "backslashreplace")
    else:
        data = text.encode(encoding, "backslashreplace")
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        click.echo(data.decode(encoding, "replace"), nl=False)
        return
    stream.flush()
    buffer.write(data)
    buffer.flush()


def write_streamed(output: str | None, write: Callable[[TextIO], None], secret: bool = False) -> None:
    """A streamed renderer's text to ``--output`` (same bytes as ``Path.write_text``) or stdout.

    The file is written under a temporary name beside it and renamed when complete, so that a
    failure part way leaves no half report where the whole one is expected."""
    if not output:
        write(Echo())  # type: ignore[arg-type]
        return
    # a device or a pipe (-o /dev/stdout) is written as it is; a file goes through a partial one
    partial = f"{output}.partial" if not os.path.exists(output) or os.path.isfile(output) else output
    try:
        with create(partial, secret) as stream:
            write(stream)
        if partial != output:
            os.replace(partial, output)
    except BaseException as exc:
        if partial != output:
            with contextlib.suppress(OSError):
                os.unlink(partial)
        if isinstance(exc, OSError):
            raise UserError(f"{output}: cannot write the report: {exc.strerror or exc}") from None
        raise
