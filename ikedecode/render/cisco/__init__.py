"""Cisco IOS-style output: ``debug crypto isakmp``/``ipsec`` (debug.py) from one peer's side.

``vocabulary`` holds IOS's words as data, ``perspective`` the ``--as`` choice, ``ids`` the
synthesised connection ids shared with ``render/show.py``; docs/cisco.md says what is synthesised.
"""

from __future__ import annotations

import importlib
from typing import Any

# imported when first used (PEP 562): ``--as`` needs the perspective, not the renderer
_EXPORTS = {"render_cisco": "debug", "Perspective": "perspective", "PerspectiveError": "perspective"}

__all__ = ["Perspective", "PerspectiveError", "render_cisco"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
