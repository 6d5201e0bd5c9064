"""Using every core (and, with the ``dask`` extra, other machines) around the sans-IO engines.

Nothing here knows a protocol: it moves work the pure layers define (opening ESP batches,
analysing one capture file) to other processes and hands the results back in order.
"""
