"""One two-worker ``LocalCluster`` for every Dask test of the session (starting one takes seconds)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def client():  # noqa: ANN201
    distributed = pytest.importorskip(
        "dask.distributed", reason="Dask is not installed (pip install 'ikedecode[dask]')"
    )
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as connected:
            yield connected
