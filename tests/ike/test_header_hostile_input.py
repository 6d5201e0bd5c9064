"""Hostile input for ``parse_header``: it returns a header or raises ``MalformedMessage``,
nothing else, for random bytes and for mutated real messages."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikedecode.ike.errors import MalformedMessage
from ikedecode.ike.header import HEADER_LENGTH, parse_header


@functools.cache
def reference_messages(packet_dir: Path) -> tuple[bytes, ...]:
    messages = tuple(path.read_bytes() for path in sorted(packet_dir.glob("*.dat")))
    assert messages, f"no *.dat under {packet_dir}"
    return messages


def exercise(data: bytes) -> None:
    try:
        header = parse_header(data)
    except MalformedMessage as error:
        assert error.reason
        if error.header is not None:
            assert error.header.initiator_cookie == data[:8]
        return
    assert HEADER_LENGTH <= header.length <= len(data)
    assert header.body == data[HEADER_LENGTH:header.length]
    assert header.trailing == data[header.length:]
    json.dumps(header.to_dict())
    header.summary()


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_give_a_header_or_malformed_message(data):
    exercise(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=20, max_size=40), st.integers(0, 2**32 - 1))
def test_any_length_field(prefix, length):
    exercise(prefix[:24].ljust(24, b"\x00") + length.to_bytes(4, "big") + prefix[24:])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_real_messages(reference_dir, data):
    message = bytearray(data.draw(st.sampled_from(reference_messages(reference_dir / "ike-scan" / "pkt"))))
    for _ in range(data.draw(st.integers(1, 6))):
        message[data.draw(st.integers(0, len(message) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(message)))
    exercise(bytes(message[:cut]))
