"""Acceptance: the public ESP captures decrypt as tshark 4.0.17 decrypts them (reference README)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from ikedecode.capture import open_capture
from ikedecode.capture.datagram import Kind
from ikedecode.esp import EspProcessor, EspResult, EspStatus, SaDatabase
from ikedecode.esp.processor import NOT_AVAILABLE
from ikedecode.keys.wireshark import read_esp_sa_table

ICMP_DATA = bytes.fromhex("08090a0b0c0d0e0f1011121314151617")
WIKI = "wireshark-wiki/ipsec_esp"


def _run(capture: Path, esp_sa: Path) -> tuple[SaDatabase, EspProcessor, list[list[EspResult]]]:
    sadb = SaDatabase(read_esp_sa_table(esp_sa.read_text(), esp_sa.name))
    processor = EspProcessor(sadb)
    layers = [processor.process_nested(dg) for dg in open_capture(str(capture))]
    return sadb, processor, [each for each in layers if each]


def _innermost_protocol(result: EspResult) -> int:
    """Upper-layer protocol of an opened packet (1 ICMP, 58 ICMPv6)."""
    if result.mode == "transport":
        return result.next_header
    inner = result.payload
    return inner[9] if inner[0] >> 4 == 4 else inner[6]


def test_esp_bug_12671_every_packet_verifies_to_icmp(reference_dir):
    sadb, processor, datagrams = _run(
        reference_dir / "wireshark/captures/esp-bug-12671.pcapng.gz",
        reference_dir / "wireshark/config/esp_sa",
    )
    assert len(datagrams) == 6
    results = [layers[0] for layers in datagrams]
    assert all(r.status == EspStatus.VERIFIED and r.icv_ok for r in results)
    assert all(r.mode == "tunnel" and r.next_header == 4 and r.pad_length == 10 for r in results)
    addresses = Counter((r.payload[12:16], r.payload[16:20]) for r in results)
    a, b = bytes([10, 1, 1, 1]), bytes([10, 1, 0, 10])
    assert addresses == {(a, b): 3, (b, a): 3}
    assert all(r.payload[9] == 1 and ICMP_DATA in r.payload for r in results)
    assert sorted(r.seq for r in results) == [1, 1, 2, 2, 3, 3]
    for sa in sadb:
        assert (sa.counters.packets, sa.counters.verified, sa.counters.icv_failed) == (3, 3, 0)
        assert sa.mode is None and sa.observed_mode == "tunnel" and sa.counters.tunnel == 3
        assert (sa.counters.replays, sa.counters.gaps) == (0, 0)
    assert sadb.no_keys == [] and not processor.malformed


def test_ipsec_esp_capture_1_transport_mode_all_algorithm_pairs(reference_dir):
    folder = reference_dir / WIKI / "ipsec_esp_capture_1"
    sadb, _, datagrams = _run(folder / "capture.pcap", folder / "esp_sa")
    results = [layers[0] for layers in datagrams]
    assert len(results) == 240
    assert Counter(r.status for r in results) == {EspStatus.VERIFIED: 160, EspStatus.DECRYPTED: 80}
    assert all(r.mode == "transport" and r.padding_ok for r in results)
    assert Counter(_innermost_protocol(r) for r in results) == {1: 120, 58: 120}
    # ICMP / ICMPv6 echo requests (type 8 / 128)
    assert {r.payload[0] for r in results} == {8, 128}
    # the NULL-authentication SAs are exactly the ones counted as decrypted without a check
    for sa in sadb:
        assert sa.counters.packets == 10
        if sa.integrity == "null":
            assert sa.counters.decrypted == 10 and sa.counters.verified == 0
        else:
            assert sa.counters.verified == 10


def test_ipsec_esp_capture_2_nested_tunnel_carrying_transport(reference_dir):
    folder = reference_dir / WIKI / "ipsec_esp_capture_2"
    sadb, _, datagrams = _run(folder / "capture.pcap", folder / "esp_sa")
    assert len(datagrams) == 312
    assert all(len(layers) == 2 for layers in datagrams)
    outer = [layers[0] for layers in datagrams]
    inner = [layers[1] for layers in datagrams]
    assert all(r.status == EspStatus.VERIFIED and r.mode == "tunnel" and r.spi == 10 for r in outer)
    assert all(r.status == EspStatus.VERIFIED and r.mode == "transport" and r.spi == 15 for r in inner)
    assert all(
        r.next_header == 1 and r.datagram.src == "192.168.0.3" and r.datagram.dst == "10.0.0.2" for r in inner
    )
    tunnel_sa, transport_sa = list(sadb)
    assert tunnel_sa.encryption == "aes-cbc" and transport_sa.encryption == "des-cbc"
    assert (tunnel_sa.observed_mode, transport_sa.observed_mode) == ("tunnel", "transport")
    # tshark's sequence analysis of the inner SA: 132..542, 312 packets, 99 never seen
    assert (transport_sa.counters.seq_min, transport_sa.counters.seq_max, transport_sa.counters.gaps) == (
        132,
        542,
        99,
    )
    assert (tunnel_sa.counters.seq_min, tunnel_sa.counters.seq_max, tunnel_sa.counters.gaps) == (240, 551, 0)


def test_ipsec_esp_capture_3_blowfish_decrypts_twofish_is_reported_unsupported(reference_dir):
    folder = reference_dir / WIKI / "ipsec_esp_capture_3"
    sadb, _, datagrams = _run(folder / "capture.pcap", folder / "esp_sa")
    results = [layers[0] for layers in datagrams]
    assert len(results) == 18
    by_sa = {sa.dst: sa for sa in sadb}
    blowfish, twofish_128, twofish_256 = by_sa["190.0.0.2"], by_sa["190.0.0.4"], by_sa["190.0.0.5"]
    assert blowfish.encryption == "blowfish-cbc" and blowfish.counters.verified == 3
    assert (twofish_128.counters.packets, twofish_128.counters.unsupported) == (3, 3)
    assert (twofish_256.counters.packets, twofish_256.counters.unsupported) == (12, 12)
    unsupported = [r for r in results if r.status == EspStatus.UNSUPPORTED]
    assert len(unsupported) == 15
    assert all(
        r.sa.encryption == "twofish-cbc" and r.reason == NOT_AVAILABLE and r.payload is None
        for r in unsupported
    )


def test_ipsec_esp_capture_5_blowfish_with_hex_keys(reference_dir):
    folder = reference_dir / WIKI / "ipsec_esp_capture_5"
    sadb, _, datagrams = _run(folder / "capture.pcap", folder / "esp_sa")
    results = [layers[0] for layers in datagrams]
    assert len(results) == 72
    assert all(
        r.status == EspStatus.VERIFIED and r.next_header == 58 and r.payload[0] == 128 for r in results
    )
    # "0xecafec..." has 31 hex digits: Wireshark (and the setkey file) read it as 0x0ecafec...
    odd_key_sa = next(sa for sa in sadb if sa.dst == "3ffe::3")
    assert odd_key_sa.encryption_key == bytes.fromhex("0ecafecacafecafebbccbbccdadaffff")
    assert odd_key_sa.counters.verified == 22


def test_ikev2_nat_t_esp_in_udp_gcm_ctr_cbc(reference_dir):
    folder = reference_dir / "wireshark-wiki/ipsec_ikev2_esp_nat_t"
    sadb, _, datagrams = _run(folder / "capture.pcapng", folder / "esp_sa")
    results = [layers[0] for layers in datagrams]
    assert len(results) == 24
    assert all(r.datagram.udp_encapsulated for r in results)
    assert all(r.status == EspStatus.VERIFIED and r.mode == "tunnel" and r.payload[9] == 1 for r in results)
    assert Counter(sa.encryption for sa in sadb) == {"aes-gcm-16": 2, "aes-ctr": 2, "aes-cbc": 2}
    assert all(sa.counters.verified == 4 and sa.counters.seq_max == 4 for sa in sadb)
    inner_hosts = {".".join(map(str, r.payload[12:16])) for r in results}
    assert inner_hosts == {"192.168.225.10", "192.168.225.11", "192.168.225.12", "192.168.225.1"}


def test_flipping_one_byte_of_one_packet_gives_exactly_one_icv_failure(reference_dir):
    folder = reference_dir / "wireshark-wiki/ipsec_ikev2_esp_nat_t"
    sadb = SaDatabase(read_esp_sa_table((folder / "esp_sa").read_text(), "esp_sa"))
    processor = EspProcessor(sadb)
    esp = [dg for dg in open_capture(str(folder / "capture.pcapng")) if dg.kind == Kind.ESP]
    for index in (3, 13, 20):  # one packet each of the GCM, CTR and CBC sessions
        victim = esp[index]
        payload = bytearray(victim.payload)
        payload[len(payload) // 2] ^= 0x01
        esp[index] = replace(victim, payload=bytes(payload))
    statuses = Counter(processor.process(dg).status for dg in esp)
    assert statuses == {EspStatus.VERIFIED: 21, EspStatus.ICV_FAILED: 3}
    assert sum(sa.counters.icv_failed for sa in sadb) == 3
    assert sorted(sa.counters.icv_failed for sa in sadb) == [0, 0, 0, 1, 1, 1]


def test_an_spi_without_keys_is_reported_with_its_packet_count(reference_dir):
    one_line = (reference_dir / "wireshark/config/esp_sa").read_text().splitlines()[0]
    sadb = SaDatabase(read_esp_sa_table(one_line, "esp_sa"))
    processor = EspProcessor(sadb)
    results = [
        processor.process(dg)
        for dg in open_capture(str(reference_dir / "wireshark/captures/esp-bug-12671.pcapng.gz"))
    ]
    assert Counter(r.status for r in results) == {EspStatus.VERIFIED: 3, EspStatus.NO_KEYS: 3}
    (missing,) = sadb.no_keys
    assert (missing.spi, missing.src, missing.dst, missing.packets) == (
        0xC254FE64,
        "192.168.0.100",
        "192.168.0.1",
        3,
    )
    assert missing.label == "ESP SPI 0xc254fe64 192.168.0.100 -> 192.168.0.1"
    assert missing.first_seen < missing.last_seen
    assert missing.bytes == sum(len(r.datagram.payload) for r in results if r.status == EspStatus.NO_KEYS)
