"""The guard of the records made by storing their fields after ``object.__new__``.

On the hot paths (one record per frame, message or payload) some dataclass records are made by
storing each field after ``object.__new__``, which is what the dataclass ``__init__`` does, without
its keyword call. Such a fast constructor names the fields it stores; ``stores_every_field``, run at
import next to it, fails the import when the record's fields are no longer exactly those, in order,
so a field added to the record cannot be left unset.
"""

from __future__ import annotations

import dataclasses

__all__ = ["stores_every_field"]


def stores_every_field(cls: type, names: tuple[str, ...]) -> None:
    """Raise ``TypeError`` unless ``names`` are exactly the dataclass fields of ``cls``, in order."""
    declared = tuple(f.name for f in dataclasses.fields(cls))
    if declared != names:
        raise TypeError(f"{cls.__name__} has fields {declared}, its fast constructor stores {names}")
