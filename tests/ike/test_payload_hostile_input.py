"""Hostile input: random bytes and mutated real messages never make ``parse_payloads`` (or the
records it returns) raise."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikedecode.ike.v1.payloads import MAX_PAYLOADS, parse_payloads

# A main-mode SA + VID message body (RFC 2408 layout) so mutations reach the deep decoders even
# without the reference data.
BUILT_IN_BODY = bytes.fromhex(
    "0d0000380000000100000001"
    "0000002c0101000100000024010100008001000580020002800300038004000280"
    "0b0001000c000400007080"
    "00000014afcad71368a1f1c96b8696fc77570100"
)
DECODED_TYPES = [1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 21, 130, 131, 132]
FIRST_TYPES = st.one_of(st.sampled_from(DECODED_TYPES), st.integers(0, 255))


@functools.cache
def reference_bodies(packet_dir: Path) -> tuple[bytes, ...]:
    """Message bodies (after the 28-byte header) of ike-scan's recorded responses."""
    bodies = []
    for path in sorted(packet_dir.glob("*.dat")):
        data = path.read_bytes()
        data = data[4:] if data.startswith(b"\x00\x00\x00\x00") else data
        bodies.append(data[28:])
    assert bodies, f"no *.dat under {packet_dir}"
    return tuple(bodies)


def exercise(first_type: int, data: bytes) -> None:
    chain = parse_payloads(first_type, data)
    json.dumps(chain.to_dict())
    assert len(chain.payloads) <= MAX_PAYLOADS
    position = 28
    for payload in chain.payloads:
        payload.summary()
        assert payload.offset == position and payload.end <= 28 + len(data)
        position = payload.end
    assert chain.trailing in (b"", data[position - 28:])  # only set when the chain ends normally


def mutate(draw, body: bytes) -> bytes:
    mutated = bytearray(body)
    for _ in range(draw(st.integers(1, 8))):
        if not mutated:
            break
        mutated[draw(st.integers(0, len(mutated) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        del mutated[draw(st.integers(0, len(mutated))):]
    return bytes(mutated)


@settings(max_examples=400, deadline=None)
@given(first_type=FIRST_TYPES, data=st.binary(max_size=600))
def test_random_bytes_never_raise(first_type, data):
    exercise(first_type, data)


@settings(max_examples=300, deadline=None)
@given(first_type=st.sampled_from(DECODED_TYPES), data=st.data())
def test_mutated_built_in_message_never_raises(first_type, data):
    exercise(first_type, mutate(data.draw, BUILT_IN_BODY))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_real_messages_never_raise(reference_dir, data):
    bodies = reference_bodies(reference_dir / "ike-scan" / "pkt")
    body = data.draw(st.sampled_from(bodies))
    first_type = data.draw(st.one_of(st.just(body[0] if body else 0), FIRST_TYPES))
    exercise(first_type, mutate(data.draw, body))
