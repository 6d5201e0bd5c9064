"""Multi-file analysis on a Dask cluster (``--dask``, the ``ikedecode[dask]`` extra): docs/scale.md."""
