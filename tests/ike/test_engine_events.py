"""The IKE engine hands back what happened as events, and its front dispatches by major version."""

from __future__ import annotations

import io
import struct
from pathlib import Path

from ikedecode.capture import CaptureReader
from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.ike.engine import IkeEngine
from ikedecode.ike.events import FindingRaised, IkeSaClosed, IpsecSaKeyed, MessageDecoded
from ikedecode.ike.records import IkeMessage, IkeSa
from ikedecode.ike.v1.exchanges import STEP_BY_LABEL
from ikedecode.keys.loader import load_key_text

ROOT = Path(__file__).resolve().parents[2]


def lab(name: str) -> tuple[list[Datagram], object]:
    data = (ROOT / "captures" / f"{name}.pcap").read_bytes()
    ring = load_key_text((ROOT / "keys" / f"{name}.toml").read_text(), name)
    return [d for d in CaptureReader(io.BytesIO(data)) if d.kind is Kind.IKE], ring


def datagram(frame: int, payload: bytes, *, keepalive: bool = False) -> Datagram:
    return Datagram(
        frame,
        float(frame),
        Kind.IKE,
        "198.51.100.1",
        "203.0.113.1",
        500,
        500,
        payload,
        nat_keepalive=keepalive,
    )


def header(icky: bytes, rcky: bytes, version: int, exchange_type: int) -> bytes:
    return icky + rcky + struct.pack("!BBBBII", 0, version, exchange_type, 0, 0, 28)


def test_every_ike_datagram_is_one_message_decoded_and_ipsec_sas_are_keyed_by_the_step_that_keys_them():
    ike, ring = lab("mm-aes128-sha1-modp2048")
    engine = IkeEngine(ring)
    keyed_by: list[str] = []
    for d in ike:
        events = engine.receive(d)
        decoded = [e for e in events if isinstance(e, MessageDecoded)]
        assert len(decoded) == 1 and decoded[0].attached and decoded[0].message.frame == d.frame
        keys = [e.keys for e in events if isinstance(e, IpsecSaKeyed)]
        if keys:
            keyed_by.append(decoded[0].message.label)
            # both directions of each accepted proposal: every SPI's peer direction is there too
            assert {(k.src, k.dst) for k in keys} == {(k.dst, k.src) for k in keys}
    assert keyed_by, "the lab's quick mode keys IPsec SAs"
    assert all(STEP_BY_LABEL[label].keys_ipsec_sas for label in keyed_by)


def test_finish_closes_every_ike_sa_in_order_of_first_appearance_after_its_findings():
    engine = IkeEngine()
    cookies = [bytes([n]) * 8 for n in (3, 1, 2)]
    for frame, icky in enumerate(cookies, 1):
        engine.receive(datagram(frame, header(icky, bytes(8), 0x10, 2)))
    events = engine.finish()
    closed = [e.sa.initiator_cookie for e in events if isinstance(e, IkeSaClosed)]
    assert closed == cookies
    assert all(isinstance(e, IkeSaClosed) for e in events[len(events) - len(closed) :])


def test_a_datagram_that_is_no_isakmp_message_is_a_record_apart_and_a_finding():
    engine = IkeEngine()
    events = engine.receive(datagram(7, b"\x00" * 10))
    (decoded,) = [e for e in events if isinstance(e, MessageDecoded)]
    (raised,) = [e for e in events if isinstance(e, FindingRaised)]
    assert not decoded.attached and decoded.message.frame == 7
    assert raised.finding.code == "malformed-message" and raised.finding.evidence["frame"] == 7
    assert not [e for e in engine.finish() if isinstance(e, IkeSaClosed)]


def test_a_nat_t_keepalive_gives_no_event():
    assert IkeEngine().receive(datagram(1, b"\xff", keepalive=True)) == []


def test_the_major_version_picks_the_engine():
    engine = IkeEngine()
    seen: list[tuple[str, int]] = []

    class Recorder:
        def __init__(self, version: str) -> None:
            self.version = version

        def receive(self, d: Datagram, h: object) -> list:
            seen.append((self.version, d.frame))
            return []

        def finish(self) -> list:
            return []

    engine.v1, engine.v2 = Recorder("v1"), Recorder("v2")  # type: ignore[assignment]
    engine.receive(datagram(1, header(b"a" * 8, bytes(8), 0x10, 2)))
    engine.receive(datagram(2, header(b"b" * 8, bytes(8), 0x20, 34)))
    assert seen == [("v1", 1), ("v2", 2)]


def test_ike_sas_of_two_version_engines_close_in_one_order_of_first_appearance():
    engine = IkeEngine()
    engine.receive(datagram(1, header(b"a" * 8, bytes(8), 0x10, 2)))
    engine.receive(datagram(3, header(b"c" * 8, bytes(8), 0x10, 2)))
    v2_sa = IkeSa(version=2, initiator_cookie=b"b" * 8, responder_cookie=None, initiator="x", responder="y")
    v2_sa.messages.append(decoded_message(datagram(2, header(b"b" * 8, bytes(8), 0x20, 34))))

    class Ikev2Stub:
        def receive(self, d: Datagram, h: object) -> list:
            return []

        def finish(self) -> list:
            return [IkeSaClosed(v2_sa)]

    engine.v2 = Ikev2Stub()  # type: ignore[assignment]
    closed = [e.sa.initiator_cookie for e in engine.finish() if isinstance(e, IkeSaClosed)]
    assert closed == [b"a" * 8, b"b" * 8, b"c" * 8]


def decoded_message(d: Datagram) -> IkeMessage:
    """The record a datagram makes (read by a throwaway engine)."""
    (event,) = [e for e in IkeEngine().receive(d) if isinstance(e, MessageDecoded)]
    return event.message
