"""The command fixes glibc's malloc thresholds (terminal/allocator.py) unless the user set them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ikedecode.terminal import allocator
from tests.conftest import CAPTURES_DIR, PROJECT_ROOT

GLIBC = bool(getattr(os, "confstr", None) and os.confstr("CS_GNU_LIBC_VERSION"))

# Whether a fresh 1 MB block comes from a mapping of its own: glibc marks such a chunk with the
# IS_MMAPPED bit (2) of the size field just before it; below the mmap threshold it is heap memory.
BLOCK_IS_MAPPED = """
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
block = libc.malloc(1 << 20)
size_field = ctypes.c_size_t.from_address(block - ctypes.sizeof(ctypes.c_size_t)).value
print(bool(size_field & 2))
"""
PROBE = """
from ikedecode.terminal.allocator import fix_thresholds
print(fix_thresholds())
""" + BLOCK_IS_MAPPED
# the command itself, in this interpreter, on a bundled capture (its report to /dev/null)
AFTER_A_RUN = """
import sys
from ikedecode.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
""" + BLOCK_IS_MAPPED


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


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's (mallopt); this C library is not glibc")
def test_a_run_of_the_command_on_a_capture_leaves_the_thresholds_fixed() -> None:
    env = {k: v for k, v in os.environ.items() if k not in allocator.USER_SETTINGS}
    capture, keys = CAPTURES_DIR / "esp-aes128gcm16.pcap", PROJECT_ROOT / "keys" / "esp-aes128gcm16.toml"
    args = [str(capture), "--keys", str(keys), "--format", "json", "-o", os.devnull, "--jobs", "1"]
    done = subprocess.run(
        [sys.executable, "-c", AFTER_A_RUN, *args], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.split()[-1:] == ["False"], done.stderr  # the 1 MB block: heap, not mapped
