"""From the command line's CAPTURE arguments to the list of capture files to read.

Each argument is, in this order of precedence:

* an existing file: read as it is; it must be a capture (``CaptureError`` otherwise);
* an existing directory: every capture file directly inside, sorted by name. Subdirectories and
  hidden files are ignored; other files are skipped with a note (a directory of captures often
  holds key files, logs and notes too). A directory without any capture is an error;
* a glob pattern (``*``, ``?``, ``[...]``; ``**`` matches any depth), expanded here too, for shells
  that do not and for quoted patterns: the matching files sorted by name, skipped like a
  directory's when they are no capture. A pattern that matches no file is an error;
* anything else is a missing file: an error.

A file reached twice (named twice, or named and inside a named directory) is read once.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import CaptureError
from .reader import open_capture

GLOB_CHARACTERS = frozenset("*?[")


@dataclass(slots=True)
class CaptureInputs:
    paths: list[str] = field(default_factory=list)  # capture files, in the order to give mergecap
    notes: list[str] = field(default_factory=list)  # one line each: what was skipped and why


def _is_capture(path: str) -> str | None:
    """None when ``path`` opens as a capture, else why not (the reader's one-line reason)."""
    try:
        reader = open_capture(path)
    except CaptureError as exc:
        text = str(exc)
        return text[len(path) + 2 :] if text.startswith(f"{path}: ") else text
    stream = reader.detach_stream()
    if stream is not None:
        stream.close()
    return None


def _candidates(paths: Sequence[str], inputs: CaptureInputs, where: str) -> list[str]:
    """The files among ``paths`` (sorted by the caller) that are captures; notes for the others."""
    found = []
    for path in paths:
        if os.path.basename(path).startswith(".") or not os.path.isfile(path):
            continue
        reason = _is_capture(path)
        if reason is None:
            found.append(path)
        else:
            inputs.notes.append(f"skipped {path} ({where}): {reason}")
    return found


def expand_inputs(arguments: Sequence[str]) -> CaptureInputs:
    """Resolve files, directories and glob patterns; ``CaptureError`` (one line) for what cannot be."""
    inputs = CaptureInputs()
    seen: dict[tuple[int, int] | str, str] = {}
    for argument in arguments:
        if os.path.isdir(argument):
            entries = sorted(os.path.join(argument, name) for name in os.listdir(argument))
            files = _candidates(entries, inputs, "in a directory, not a capture")
            if not files:
                raise CaptureError(f"{argument}: no capture file in this directory")
        elif os.path.exists(argument) or not GLOB_CHARACTERS & set(argument):
            files = [argument]  # a missing file fails when opened, with the reader's message
        else:
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise CaptureError(f"{argument}: no file matches this pattern")
            files = _candidates(matches, inputs, "matches the pattern, not a capture")
            if not files:
                raise CaptureError(f"{argument}: no capture file among the {len(matches)} matches")
        for path in files:
            try:
                status = os.stat(path)
                identity: tuple[int, int] | str = (status.st_dev, status.st_ino)
            except OSError:
                identity = os.path.abspath(path)
            if identity in seen:
                first = seen[identity]
                same = "given twice" if first == path else f"the same file as {first}"
                inputs.notes.append(f"{path}: {same}, read once")
                continue
            seen[identity] = path
            inputs.paths.append(path)
    return inputs
