"""Replays, gaps and ESN high-bit inference (RFC 4303 section 3.4.3 and Appendix A)."""

from __future__ import annotations

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.esp import EspProcessor, EspStatus, IpsecSa, SaDatabase
from ikedecode.esp.encoder import EspEncoder
from ikedecode.esp.sequence import WINDOW, SequenceTracker
from tests.esp.payloads import udp

KEY = bytes(range(16))
AUTH_KEY = bytes(range(20))


def _sa(**extra) -> IpsecSa:
    return IpsecSa(
        "esp",
        0x1000,
        "192.0.2.1",
        "192.0.2.2",
        encryption="aes-cbc",
        encryption_key=KEY,
        integrity="hmac-sha1-96",
        integrity_key=AUTH_KEY,
        **extra,
    )


def _datagram(payload: bytes, frame: int = 1) -> Datagram:
    return Datagram(
        frame=frame,
        time=float(frame),
        kind=Kind.ESP,
        src="192.0.2.1",
        dst="192.0.2.2",
        sport=0,
        dport=0,
        payload=payload,
    )


def test_gaps_count_the_numbers_never_seen_between_lowest_and_highest():
    tracker = SequenceTracker()
    for seq in (5, 6, 9, 7, 12):
        assert tracker.record(seq) is False
    assert (tracker.lowest, tracker.highest, tracker.unique) == (5, 12, 5)
    assert tracker.gaps == 3  # 8, 10, 11


def test_a_sequence_number_seen_twice_is_a_replay():
    tracker = SequenceTracker()
    for seq in (1, 2, 3):
        tracker.record(seq)
    assert tracker.record(2) is True
    assert tracker.record(3) is True
    assert tracker.record(4) is False
    assert tracker.replays == 2 and tracker.gaps == 0


def test_numbers_below_the_window_are_counted_apart_not_as_replays():
    tracker = SequenceTracker()
    tracker.record(10)
    tracker.record(10 + WINDOW + 5)
    assert tracker.record(10) is False  # fell out of the window: cannot tell, not called a replay
    assert tracker.out_of_window == 1 and tracker.replays == 0


def test_esn_high_bits_follow_the_window_across_a_wrap():
    tracker = SequenceTracker()
    assert tracker.infer_high_bits(7) == 0
    assert tracker.infer_high_bits(7, initial_high=3) == 3
    tracker.record(0xFFFFFFF0)  # case A: the window lies in sub-space 0
    assert tracker.infer_high_bits(0xFFFFFFF8) == 0
    assert tracker.infer_high_bits(2) == 1  # a small number after the top: the counter wrapped
    tracker.record((1 << 32) | 2)  # case B: the window straddles sub-spaces 0 and 1
    assert tracker.infer_high_bits(0xFFFFFFF9) == 0  # a late packet from before the wrap
    assert tracker.infer_high_bits(5) == 1


def test_processor_reports_a_duplicated_packet_as_replay_and_keeps_plaintext():
    sa = _sa()
    encoder = EspEncoder(sa)
    processor = EspProcessor(SaDatabase([sa]))
    packets = [encoder.encode(udp(b"payload %d" % n), 17, n) for n in (1, 2, 4)]
    statuses = [processor.process(_datagram(p, i)).status for i, p in enumerate(packets, 1)]
    replay = processor.process(_datagram(packets[1], 9))
    assert statuses == [EspStatus.VERIFIED] * 3
    assert replay.status == EspStatus.REPLAY and replay.replayed and replay.payload == udp(b"payload 2")
    counters = sa.counters
    assert (counters.packets, counters.verified, counters.replays, counters.gaps) == (4, 4, 1, 1)
    assert (counters.seq_min, counters.seq_max) == (1, 4)
    assert (counters.first_seen, counters.last_seen) == (1.0, 9.0)


def test_icv_failures_do_not_move_the_sequence_window():
    sa = _sa()
    packet = bytearray(EspEncoder(sa).encode(udp(b"x" * 40), 17, 7))
    packet[-1] ^= 0xFF
    processor = EspProcessor(SaDatabase([sa]))
    assert processor.process(_datagram(bytes(packet))).status == EspStatus.ICV_FAILED
    assert sa.counters.seq_max is None and sa.counters.icv_failed == 1


def test_esn_packets_after_a_wrap_verify_with_inferred_high_bits():
    sa = _sa(esn=True)
    encoder = EspEncoder(sa)
    processor = EspProcessor(SaDatabase([sa]))
    seqs = [0xFFFFFFFE, 0xFFFFFFFF, 1 << 32, (1 << 32) + 1]
    results = [processor.process(_datagram(encoder.encode(udp(b"esn"), 17, seq))) for seq in seqs]
    assert [r.status for r in results] == [EspStatus.VERIFIED] * 4
    assert [r.seq for r in results] == seqs
    assert sa.counters.gaps == 0
