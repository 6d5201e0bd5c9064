"""RFC 7296 2.6: an IKE_SA_INIT answered with a COOKIE is sent again with the cookie; both tries,
with the same or with a new initiator SPI, are one IKE SA that records the restart."""

from __future__ import annotations

import struct

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.ike.events import IkeSaClosed
from ikedecode.ike.header import parse_header
from ikedecode.ike.v2.engine import Ikev2Engine

INITIATOR, RESPONDER = "192.0.2.1", "192.0.2.2"
COOKIE = b"c" * 32


def _payload(kind: int, next_type: int, body: bytes) -> tuple[int, bytes]:
    return kind, struct.pack("!BBH", next_type, 0, 4 + len(body)) + body


def _message(spi_i: bytes, spi_r: bytes, flags: int, payloads: list[tuple[int, bytes]]) -> bytes:
    chain = b""
    for index, (_, raw) in enumerate(payloads):  # set each payload's next-payload field
        following = payloads[index + 1][0] if index + 1 < len(payloads) else 0
        chain += bytes([following]) + raw[1:]
    first = payloads[0][0] if payloads else 0
    return spi_i + spi_r + struct.pack("!BBBBII", first, 0x20, 34, flags, 0, 28 + len(chain)) + chain


def _request(spi_i: bytes, cookie: bytes | None) -> bytes:
    transform = struct.pack("!BxHBxH", 0, 8, 4, 19)  # KE method 19, the only transform
    proposal = struct.pack("!BxHBBBB", 0, 8 + len(transform), 1, 1, 0, 1) + transform
    payloads = [
        _payload(33, 0, proposal),
        _payload(34, 0, struct.pack("!HH", 19, 0) + bytes(64)),
        _payload(40, 0, b"n" * 32),
    ]
    if cookie is not None:
        payloads.insert(0, _payload(41, 0, struct.pack("!BBH", 0, 0, 16390) + cookie))
    return _message(spi_i, bytes(8), 0x08, payloads)


def _cookie_answer(spi_i: bytes) -> bytes:
    return _message(spi_i, bytes(8), 0x20, [_payload(41, 0, struct.pack("!BBH", 0, 0, 16390) + COOKIE)])


def _datagram(frame: int, data: bytes, from_initiator: bool) -> Datagram:
    src, dst = (INITIATOR, RESPONDER) if from_initiator else (RESPONDER, INITIATOR)
    return Datagram(frame, float(frame), Kind.IKE, src, dst, 500, 500, data)


def _run(messages: list[tuple[bytes, bool]]):  # noqa: ANN202
    engine = Ikev2Engine()
    for frame, (data, from_initiator) in enumerate(messages, 1):
        engine.receive(_datagram(frame, data, from_initiator), parse_header(data))
    return [e.sa for e in engine.finish() if isinstance(e, IkeSaClosed)]


def test_cookie_restart_with_the_same_spi_is_one_sa():
    spi = b"\x11" * 8
    (sa,) = _run([(_request(spi, None), True), (_cookie_answer(spi), False), (_request(spi, COOKIE), True)])
    assert [m.label for m in sa.messages] == [
        "IKE_SA_INIT request",
        "IKE_SA_INIT response",
        "IKE_SA_INIT request",
    ]
    assert sa.ikev2.restarts == ["COOKIE in frame 2, new IKE_SA_INIT in frame 3"]
    assert sa.messages[2].retransmission_of is None and "restart after COOKIE" in sa.messages[2].note
    assert sa.state == "IKE_SA_INIT sent"


def test_cookie_restart_with_a_new_spi_is_the_same_sa_under_the_new_spi():
    old, new = b"\x11" * 8, b"\x22" * 8
    (sa,) = _run([(_request(old, None), True), (_cookie_answer(old), False), (_request(new, COOKIE), True)])
    assert sa.initiator_cookie == new and len(sa.messages) == 3
    assert sa.ikev2.restarts and sa.state == "IKE_SA_INIT sent"
