"""The C allocator's thresholds for a run of the command (glibc only).

The ESP path allocates and frees blocks of about 0.7 MB per batch (a batch's bytes, the buffer a
megabyte of the file is read into). glibc adapts its thresholds as it goes: whether such a block
comes out of memory the heap already holds, or out of fresh pages (its own mapping, or the heap
grown again after giving its top back) depends on what was allocated before. The same 430 MB
capture took from 10,000 to 76,000 page faults from one version of the code to the next, up to
0.1 s of system time, for no change in the work done. Fixed thresholds (the values a user sets
with ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``, mallopt(3)) keep blocks of that
size in the heap once it has grown to hold them: the page faults are then those of the heap's
high-water mark (docs/performance.md, "The C allocator").
"""

from __future__ import annotations

import os

# mallopt(3) parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # blocks below this come from the heap (glibc's adaptive maximum)
TRIM_THRESHOLD = 128 << 20  # free memory at the heap's top before it is given back
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def fix_thresholds() -> bool:
    """Set fixed mmap and trim thresholds where the C library is glibc and the user has not set
    them in the environment; whether they were set."""
    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return False
    if not glibc or any(name in os.environ for name in USER_SETTINGS):
        return False
    import ctypes  # only here: a few ms that a run without glibc need not pay

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
