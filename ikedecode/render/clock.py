"""Capture timestamps as calendar times, for every renderer.

A capture's clock can say anything (a pcapng timestamp is 64 bits in units the file chooses), and
``datetime`` only covers the years 1 to 9999: times outside are clamped to those ends rather than
raising, so a broken clock costs the reader nothing but the time of day.
"""

from __future__ import annotations

import datetime as _dt

_FIRST = _dt.datetime.min.replace(tzinfo=_dt.UTC)
_LAST = _dt.datetime.max.replace(tzinfo=_dt.UTC)


def utc_moment(time: float) -> _dt.datetime:
    """``time`` (seconds since the epoch) as an aware UTC datetime, clamped to years 1..9999."""
    try:
        return _dt.datetime.fromtimestamp(time, _dt.UTC)
    except (ValueError, OverflowError, OSError):
        return _LAST if time > 0 else _FIRST
