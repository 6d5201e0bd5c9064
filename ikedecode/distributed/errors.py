"""The one error of ``--dask`` the user is told about in one line (exit status 2)."""

from __future__ import annotations


class DaskError(Exception):
    """Dask missing, the scheduler unreachable, or workers that run another ikedecode version."""
