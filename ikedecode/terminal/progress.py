"""Progress bars on stderr for the command line: as wide as the terminal, over the bytes of the
captures the analysis has got through, with an ETA from the recent pace (terminal I/O: the CLI's edge)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ikedecode.capture import CaptureReader


def fitted_label(label: str) -> str:
    """A progress bar's label cut to leave the bar, its percentage and its ETA room on one line."""
    import shutil  # with its bz2 and lzma (~2 ms): only when a bar is drawn

    room = max(10, shutil.get_terminal_size().columns // 2)
    return label if len(label) <= room else label[: room - 1] + "…"


def terminal_bar(length: int, label: str, **options: Any):  # noqa: ANN202 - a click progress bar on stderr
    """click's bar sized to the terminal (``width=0``: what the label and the counters leave)."""
    return click.progressbar(length=length, label=fitted_label(label), file=sys.stderr, width=0, **options)


PROGRESS_EVERY = 16  # the pipeline calls Options.progress once every 16 items it has analysed


class AnalysedBytes:
    """How far the analysis has got, in bytes of the capture: the bytes read so far times the
    share of the frames read that the analysis has got through. With --dh-private the IKE
    datagrams are read up to a window ahead while other cores compute their g^xy; a small capture
    is then read at once and the time goes into DH: a bar over the bytes read would sit at 100%
    with an ETA of 0 s, this one moves as the SAs are analysed.

    The reader's ``items`` is wrapped (on this one reader object) to note the frame count after
    each item; ``advance`` is the pipeline's progress callback, called every ``PROGRESS_EVERY``
    items. Only the counts of items read but not yet analysed are kept (the read-ahead window)."""

    def __init__(self, reader: CaptureReader) -> None:
        self.reader = reader
        self.frames: deque[int] = deque()  # frames read after each item not yet analysed
        self.analysed_frames = 0
        items = reader.items

        def noted(*args: Any, **kwargs: Any) -> Iterator[Any]:
            for item in items(*args, **kwargs):
                self.frames.append(reader.frames_read())
                yield item

        reader.items = noted  # type: ignore[method-assign]

    def advance(self) -> float:
        """PROGRESS_EVERY more items analysed: the bytes they stand for."""
        for _ in range(PROGRESS_EVERY):
            if not self.frames:
                break
            self.analysed_frames = self.frames.popleft()
        read = self.reader.frames_read()
        return self.reader.bytes_read() * (self.analysed_frames / read if read else 1.0)

    @property
    def ahead(self) -> bool:
        """Items read and not yet analysed (the DH read-ahead)."""
        return len(self.frames) > PROGRESS_EVERY


@contextlib.contextmanager
def progress_bar(
    reader: CaptureReader, paths: list[str], quiet: bool, dh: bool = False
) -> Iterator[Callable[[int], None] | None]:
    """click's progress bar on stderr, as wide as the terminal, over the bytes of the captures the
    analysis has got through (``AnalysedBytes``), when stderr is a terminal. With DH to compute
    (``dh``), the label says so, and once every byte is read it says that the DH is what is left."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    size = 0
    for path in paths:
        try:
            size += os.path.getsize(path)
        except OSError:
            pass
    if not size:
        yield None
        return
    analysed = AnalysedBytes(reader)
    label = "reading, computing DH" if dh else "reading"
    with terminal_bar(size, label, show_pos=False, show_eta=False, item_show_func=lambda eta: eta) as bar:
        done = 0
        eta = Eta(size)

        def advance(_frames: int) -> None:
            nonlocal done
            now = min(int(analysed.advance()), size)
            if dh and reader.bytes_read() >= size and analysed.ahead:
                bar.label = fitted_label("computing DH (read ahead)")
            bar.update(now - done, eta.text(now))
            done = now

        yield advance
        bar.update(size - done)


class Eta:
    """Time left from the pace of the last ``WINDOW`` seconds (not since the start: the start-up
    of the worker processes and the first DH results would make it minutes for a few seconds of
    work), said only once there is a pace to go by."""

    WINDOW = 5.0

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.clock = clock
        self.samples: deque[tuple[float, int]] = deque()

    def text(self, position: int) -> str:
        now = self.clock()
        self.samples.append((now, position))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.WINDOW:
            self.samples.popleft()
        then, before = self.samples[0]
        if now - then < 0.5 or position <= before:
            return ""
        left = (self.total - position) * (now - then) / (position - before)
        minutes, seconds = divmod(int(left + 0.5), 60)
        return f"ETA {minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d}"
