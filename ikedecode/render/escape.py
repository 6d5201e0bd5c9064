"""Wire text made safe for a terminal: control characters from a peer never reach it raw.

Peer IDs, XAUTH user names, notify texts, certificate names and vendor strings come from the
wire. A CR, BEL or ESC in one of them would rewrite the screen of whoever reads the report
(ANSI escape sequences), an LF would forge a report line. Two places apply this module:

* ``printable`` (``ike.wire_text.escape_controls``) on a single wire string where it is turned
  into display text, in ike/ where the payloads are read (every control character, LF included,
  becomes ``\\xNN``);
* ``terminal_safe`` on a whole rendered report (text, cisco, show, timeline, Markdown, HTML) as
  a last guard: every control character except the report's own line breaks and tabs.

JSON escapes control characters itself and is left alone.
"""

from __future__ import annotations

import re

from ikedecode.ike.wire_text import escape_controls as printable

_CONTROLS_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def terminal_safe(report: str) -> str:
    """A rendered report with every control character except LF and TAB written as ``\\xNN``."""
    return _CONTROLS_BUT_LINES.sub(_escaped, report) if _CONTROLS_BUT_LINES.search(report) else report


__all__ = ["printable", "terminal_safe"]
