"""What the checks read from an IKEv1 transform's attributes (RFC 2409 Appendix A, RFC 2407 4.5),
worked out once per distinct list of attribute records.

The engine shares the records of a transform's bytes between the SAs that offer them
(``ike.v1.attributes.transform_attributes``), so the SAs of a capture ask about a few lists: the
answers are kept by what is asked and the records' ids (the shared tuple's id when the records come
in one). Each entry keeps its records alive, so an id is not reused while its entry exists. Callers
get copies of the dicts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ikedecode.ike.records import ProposalRecord
from ikedecode.ike.registries import (
    AUTHENTICATION_METHOD,
    ENCRYPTION_ALGORITHM,
    GROUP_DESCRIPTION,
    HASH_ALGORITHM,
    KEY_LENGTH,
)
from ikedecode.ike.v1.payloads import Transform

# The attributes that make an ISAKMP policy (RFC 2409 Appendix A); lifetimes are compared apart.
POLICY_ATTRIBUTES = (
    ENCRYPTION_ALGORITHM,
    KEY_LENGTH,
    HASH_ALGORITHM,
    AUTHENTICATION_METHOD,
    GROUP_DESCRIPTION,
)
LIFE_UNITS = {1: "seconds", 2: "kilobytes"}  # Life-Type / SA-Life-Type values (RFC 2407 4.5, RFC 2409 App. A)

_BY_ATTRIBUTES: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = {}
_BY_ATTRIBUTES_MAX = 4096


def of_attributes(transform: Transform, question: tuple[Any, ...], answer: Callable[..., Any]) -> Any:
    """``answer(transform, *question[1:])``, once per question and distinct list of attribute
    records: the answer must depend on nothing else of the transform (the question names the rest).
    A tuple of records (``ike.v1.attributes.transform_attributes``: the transforms decoded from the
    same bytes share one) is keyed by its own id: the entry keeps it alive, and while it lives no
    record or other tuple has that id."""
    attributes = transform.attributes
    if type(attributes) is tuple:  # the engine's: shared by the transforms of the same bytes, immutable
        key = (*question, id(attributes))
    else:  # a list may change: keyed by its records
        key = (*question, *map(id, attributes))
    known = _BY_ATTRIBUTES.get(key)
    if known is not None:
        return known[1]
    value = answer(transform, *question[1:])
    if len(_BY_ATTRIBUTES) >= _BY_ATTRIBUTES_MAX:
        _BY_ATTRIBUTES.clear()
    _BY_ATTRIBUTES[key] = (tuple(attributes), value)
    return value


def _values(transform: Transform) -> dict[int, Any]:
    return {a.type: a.value.hex() if isinstance(a.value, bytes) else a.value for a in transform.attributes}


def attribute_values(transform: ProposalRecord | None) -> dict[int, Any]:
    """Attribute type -> value of an IKEv1 transform, byte values in hex as the JSON report shows
    them; empty for anything else (an IKEv2 proposal, none)."""
    if not isinstance(transform, Transform):
        return {}
    return dict(of_attributes(transform, ("values",), _values))


def _policy_key(transform: Transform) -> tuple[Any, ...]:
    values = _values(transform)
    return tuple(values.get(t) for t in POLICY_ATTRIBUTES)


def policy_key(transform: ProposalRecord) -> tuple[Any, ...]:
    if not isinstance(transform, Transform):
        return (None,) * len(POLICY_ATTRIBUTES)
    return of_attributes(transform, ("policy",), _policy_key)


def lifetimes(transform: ProposalRecord | None, life_type: int, life_duration: int) -> dict[str, int]:
    """{"seconds": n, "kilobytes": m} from an IKEv1 transform's Life-Type/Life-Duration pairs, in
    order (RFC 2409 Appendix A, RFC 2407 4.5: each duration follows the type it measures)."""
    if not isinstance(transform, Transform):
        return {}
    return dict(of_attributes(transform, ("lifetimes", life_type, life_duration), _lifetimes))


def _lifetimes(transform: Transform, life_type: int, life_duration: int) -> dict[str, int]:
    out: dict[str, int] = {}
    current: int | bytes | None = None
    for attribute in transform.attributes:
        if attribute.type == life_type:
            current = attribute.value
        elif attribute.type == life_duration and isinstance(attribute.value, int):
            if current is None:
                unit: str | None = "seconds"  # the RFCs' default
            else:
                unit = LIFE_UNITS.get(current) if isinstance(current, int) else None  # a TLV type: none
            if unit:
                out[unit] = attribute.value
    return out
