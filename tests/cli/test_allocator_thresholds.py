"""The command fixes glibc's malloc thresholds (terminal/allocator.py) unless the user set them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ikedecode.terminal import allocator

GLIBC = bool(getattr(os, "confstr", None) and os.confstr("CS_GNU_LIBC_VERSION"))

PROBE = """
import ctypes, sys
from ikedecode.terminal.allocator import fix_thresholds
print(fix_thresholds())
# a block of 1 MB, freed, then asked for again: with the thresholds fixed it comes from the heap
# (below the mmap threshold), so malloc_usable_size sees no mmapped chunk's header rounding
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc_usable_size.argtypes = [ctypes.c_void_p]
block = libc.malloc(1 << 20)
# glibc marks a chunk it mapped by itself with the IS_MMAPPED bit (2) of the size field before it
size_field = ctypes.c_size_t.from_address(block - ctypes.sizeof(ctypes.c_size_t)).value
print(bool(size_field & 2))
"""


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's (mallopt); this C library is not glibc")
def test_a_megabyte_block_comes_from_the_heap_once_the_thresholds_are_fixed() -> None:
    env = {k: v for k, v in os.environ.items() if k not in allocator.USER_SETTINGS}
    fixed = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    assert fixed.stdout.split() == ["True", "False"]  # set; the 1 MB block is not mmapped
    unset = PROBE.replace("print(fix_thresholds())", "print(None)")
    default = subprocess.run(
        [sys.executable, "-c", unset], capture_output=True, text=True, env=env, check=True
    )
    assert default.stdout.split() == ["None", "True"]  # glibc's default: 1 MB > 128 KiB, mmapped


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's (mallopt); this C library is not glibc")
@pytest.mark.parametrize("setting", allocator.USER_SETTINGS)
def test_thresholds_the_user_set_in_the_environment_are_left_alone(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(setting, "1048576")
    assert allocator.fix_thresholds() is False
