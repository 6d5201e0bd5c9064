"""SA lookup: specific before wildcard, the ICV picks among candidates, unknown SPIs are counted."""

from __future__ import annotations

import pytest

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.esp import EspProcessor, EspStatus, InvalidSa, IpsecSa, SaDatabase, UnknownAlgorithm
from ikedecode.esp.encoder import EspEncoder
from tests.esp.payloads import tcp, udp


def _sa(
    spi=0x2000, src="198.51.100.1", dst="198.51.100.2", key=b"k" * 16, auth=b"a" * 20, **extra
) -> IpsecSa:
    return IpsecSa(
        "esp",
        spi,
        src,
        dst,
        encryption="aes-cbc",
        encryption_key=key,
        integrity="hmac-sha1-96",
        integrity_key=auth,
        **extra,
    )


def _datagram(payload: bytes, src="198.51.100.1", dst="198.51.100.2", time=1.0, frame=1) -> Datagram:
    return Datagram(
        frame=frame, time=time, kind=Kind.ESP, src=src, dst=dst, sport=0, dport=0, payload=payload
    )


def test_candidates_are_ordered_most_specific_first():
    any_spi = _sa(spi=None, origin="any spi")
    any_src = _sa(src=None, origin="any src")
    exact = _sa(origin="exact")
    other_dst = _sa(dst="198.51.100.9", origin="other dst")
    sadb = SaDatabase([any_spi, any_src, exact, other_dst])
    found = sadb.candidates("esp", 0x2000, "198.51.100.1", "198.51.100.2")
    assert [sa.origin for sa in found] == ["exact", "any src", "any spi"]
    assert sadb.candidates("ah", 0x2000, "198.51.100.1", "198.51.100.2") == []
    assert sadb.candidates("esp", 0x2001, "198.51.100.1", "198.51.100.2") == [any_spi]


def test_identical_sas_are_stored_once():
    sadb = SaDatabase()
    first = sadb.add(_sa(origin="key file"))
    second = sadb.add(_sa(origin="quick mode"))
    assert second is first and len(sadb) == 1


def test_the_icv_decides_between_two_candidate_key_sets():
    wrong = _sa(key=b"w" * 16, auth=b"w" * 20, origin="PFS candidate 1")
    right = _sa(origin="PFS candidate 2")
    sadb = SaDatabase([wrong, right])
    processor = EspProcessor(sadb)
    encoder = EspEncoder(right)
    results = [processor.process(_datagram(encoder.encode(tcp(b"data"), 6, n), frame=n)) for n in (1, 2, 3)]
    assert all(r.status == EspStatus.VERIFIED and r.sa is right for r in results)
    assert (right.counters.packets, wrong.counters.packets) == (3, 0)
    # the database order stays fixed (outcomes must not depend on history: --jobs 1 and N agree) ...
    assert sadb.candidates("esp", 0x2000, "198.51.100.1", "198.51.100.2")[0] is wrong
    # ... but a packet no candidate verifies is charged to the SA in use on the flow
    damaged = bytearray(encoder.encode(tcp(b"data"), 6, 4))
    damaged[-1] ^= 1
    result = processor.process(_datagram(bytes(damaged), frame=4))
    assert result.status == EspStatus.ICV_FAILED and result.sa is right
    assert (right.counters.icv_failed, wrong.counters.packets) == (1, 0)


def test_of_two_sas_sharing_the_integrity_key_the_one_whose_plaintext_is_sound_is_counted():
    # Two SAs that differ only in their encryption key both pass the ICV: the ICV cannot tell
    # them apart, the plaintext can (the other key decrypts to garbage), whichever is tried first.
    first = _sa(key=b"1" * 16, origin="one")
    second = _sa(key=b"2" * 16, origin="two")
    for hint in (0, 1):
        first, second = first.fresh(), second.fresh()
        processor = EspProcessor(SaDatabase([first, second]))
        packet = EspEncoder(second).encode(tcp(b"data"), 6, 1)
        processor.opener._hint[(0x2000, "198.51.100.1", "198.51.100.2")] = hint
        result = processor.process(_datagram(packet))
        assert result.sa is second and result.status == EspStatus.VERIFIED
        assert result.payload == tcp(b"data")
        assert (first.counters.packets, second.counters.verified) == (0, 1)


def test_of_two_sas_that_both_verify_and_decrypt_alike_the_first_in_database_order_counts():
    first = _sa(key=b"1" * 16, origin="one")
    second = _sa(key=b"1" * 16, origin="two")
    processor = EspProcessor(SaDatabase([first, second]))
    processor.opener._hint[(0x2000, "198.51.100.1", "198.51.100.2")] = 1  # as if "two" had won before
    result = processor.process(_datagram(EspEncoder(second).encode(tcp(b"data"), 6, 1)))
    assert result.sa is first and result.status == EspStatus.VERIFIED


def test_icv_failure_with_every_candidate_is_counted_once_on_the_first():
    first, second = _sa(key=b"1" * 16, origin="one"), _sa(key=b"2" * 16, origin="two")
    processor = EspProcessor(SaDatabase([first, second]))
    stranger = EspEncoder(_sa(key=b"3" * 16, auth=b"3" * 20)).encode(tcp(b"data"), 6, 1)
    result = processor.process(_datagram(stranger))
    assert result.status == EspStatus.ICV_FAILED and result.sa is first
    assert (first.counters.packets, first.counters.icv_failed, second.counters.packets) == (1, 1, 0)


def test_without_integrity_the_valid_padding_picks_the_candidate():
    garbage = IpsecSa("esp", 0x2000, encryption="aes-cbc", encryption_key=b"g" * 16, origin="wrong")
    right = IpsecSa("esp", 0x2000, encryption="aes-cbc", encryption_key=b"r" * 16, origin="right")
    processor = EspProcessor(SaDatabase([garbage, right]))
    packet = EspEncoder(right).encode(udp(bytes(range(37))), 17, 1)
    result = processor.process(_datagram(packet))
    # the wrong key decrypts to noise whose padding is not 1, 2, 3, ...: the right key wins, tried second
    assert result.sa is right
    assert result.status == EspStatus.DECRYPTED and result.payload == udp(bytes(range(37)))
    assert garbage.counters.packets == 0


def test_packets_without_keys_are_counted_per_spi_and_addresses():
    sadb = SaDatabase([_sa()])
    processor = EspProcessor(sadb)
    unknown = b"\x00\x00\x99\x99" + bytes(60)
    for n, (src, time) in enumerate([("10.0.0.1", 5.0), ("10.0.0.1", 7.5), ("10.0.0.3", 6.0)], 1):
        result = processor.process(_datagram(unknown, src=src, dst="10.0.0.2", time=time, frame=n))
        assert result.status == EspStatus.NO_KEYS and result.spi == 0x9999
    first, second = sadb.no_keys
    assert (first.src, first.packets, first.bytes, first.first_seen, first.last_seen) == (
        "10.0.0.1",
        2,
        128,
        5.0,
        7.5,
    )
    assert (second.src, second.packets, second.first_frame) == ("10.0.0.3", 1, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"encryption": "aes-cbc", "encryption_key": b"short"}, "16/24/32-byte key"),
        ({"encryption": "aes-gcm-16", "encryption_key": b"k" * 16}, "salt"),
        (
            {
                "encryption": "aes-gcm-16",
                "encryption_key": b"k" * 20,
                "integrity": "hmac-sha1-96",
                "integrity_key": b"a" * 20,
            },
            "authenticates by itself",
        ),
        ({"integrity": "aes-xcbc-mac-96", "integrity_key": b"a" * 20}, "16-byte key"),
        ({"integrity": "hmac-sha1-96"}, "needs a key"),
    ],
)
def test_keys_that_do_not_fit_the_algorithm_are_rejected(kwargs, message):
    with pytest.raises(InvalidSa, match=message):
        IpsecSa("esp", 1, **kwargs)


def test_sa_fields_are_normalised():
    sa = IpsecSa(
        "esp",
        5,
        "2001:DB8:0:0::1",
        "*",
        encryption="AES-CBC [RFC3602]",
        encryption_key=b"k" * 32,
        integrity="sha256",
        integrity_key=b"a" * 32,
    )
    assert (sa.src, sa.dst, sa.encryption, sa.integrity) == (
        "2001:db8::1",
        None,
        "aes-cbc",
        "hmac-sha2-256-128",
    )
    assert sa.label == "ESP SPI 0x00000005 2001:db8::1 -> *"
    with pytest.raises(UnknownAlgorithm):
        IpsecSa("esp", 5, encryption="rot13", encryption_key=b"")
    with pytest.raises(InvalidSa):
        IpsecSa("esp", 1 << 32)
    with pytest.raises(InvalidSa):
        IpsecSa("ah", 5, encryption="aes-cbc", encryption_key=b"k" * 16)


def test_flows_without_keys_beyond_the_limit_are_summed_not_dropped(monkeypatch):
    monkeypatch.setattr("ikedecode.esp.sadb.MAX_UNKNOWN_FLOWS", 3)
    sadb = SaDatabase()
    processor = EspProcessor(sadb)
    for spi in range(1, 11):
        processor.process(_datagram(spi.to_bytes(4, "big") + bytes(28), time=float(spi), frame=spi))
    assert [entry.spi for entry in sadb.no_keys] == [1, 2, 3]
    overflow = sadb.no_keys_overflow
    assert (overflow.packets, overflow.bytes, overflow.first_frame, overflow.last_seen) == (
        7,
        7 * 32,
        4,
        10.0,
    )


def test_a_wildcard_sa_shares_one_tracker_beyond_the_spi_limit(monkeypatch):
    monkeypatch.setattr("ikedecode.esp.sa.MAX_TRACKED_SPIS", 2)
    sa = IpsecSa("esp", None, encryption="null", integrity="hmac-sha1-96", integrity_key=b"a" * 20)
    processor = EspProcessor(SaDatabase([sa]))
    statuses = []
    for spi in (100, 101, 102, 103):
        concrete = IpsecSa("esp", spi, encryption="null", integrity="hmac-sha1-96", integrity_key=b"a" * 20)
        result = processor.process(_datagram(EspEncoder(concrete).encode(udp(b"x"), 17, 1)))
        assert result.icv_ok and result.sa is sa
        statuses.append(result.status)
    assert statuses == [EspStatus.VERIFIED] * 3 + [EspStatus.REPLAY]
    assert sorted(sa.counters.sequences) == [-1, 100, 101]
    assert sa.counters.replays == 1  # SPIs 102 and 103 share a window: their sequence 1 collides
