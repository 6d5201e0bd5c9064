"""Cisco IOS-style output: ``debug crypto isakmp``/``ipsec`` (debug.py) from one peer's side.

``vocabulary`` holds IOS's words as data, ``perspective`` the ``--as`` choice, ``ids`` the
synthesised connection ids shared with ``render/show.py``; docs/cisco.md says what is synthesised.
"""

from __future__ import annotations

from ikedecode.render.cisco.debug import render_cisco
from ikedecode.render.cisco.perspective import Perspective, PerspectiveError

__all__ = ["Perspective", "PerspectiveError", "render_cisco"]
