"""Text from the wire made safe to display: a peer's ID, user name or message cannot forge a
report line or drive the reader's terminal (CR, LF, BEL, ESC and the other control characters
are written as ``\\xNN``, as Python's ``backslashreplace`` writes undecodable bytes)."""

from __future__ import annotations

import re

# C0 controls, DEL and the C1 controls (U+0080-U+009F: some terminals read U+009B as ESC [)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """``text`` with every control character written as ``\\xNN``."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


__all__ = ["escape_controls"]
