"""Short, misaligned, badly padded and random ESP/AH packets give a status, never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.esp import EspProcessor, EspStatus, IpsecSa, SaDatabase
from ikedecode.esp.ciphers import MISALIGNED
from ikedecode.esp.encoder import EspEncoder
from ikedecode.esp.plaintext import GARBLED, PAD_LENGTH, PADDING
from ikedecode.esp.processor import SHORT_FOR_SA, SHORT_HEADER

SPI = 0x3000


def _datagram(payload: bytes, kind: Kind = Kind.ESP, header: bytes = b"") -> Datagram:
    return Datagram(
        frame=1,
        time=0.0,
        kind=kind,
        src="203.0.113.1",
        dst="203.0.113.2",
        sport=0,
        dport=0,
        payload=payload,
        ip_header=header,
    )


def _sas() -> list[IpsecSa]:
    return [
        IpsecSa(
            "esp",
            SPI,
            encryption="aes-cbc",
            encryption_key=b"c" * 16,
            integrity="hmac-sha1-96",
            integrity_key=b"a" * 20,
        ),
        IpsecSa("esp", SPI + 1, encryption="aes-gcm-8", encryption_key=b"g" * 20),
        IpsecSa("esp", SPI + 2, encryption="null"),
        IpsecSa(
            "esp",
            SPI + 3,
            encryption="aes-ctr",
            encryption_key=b"t" * 20,
            integrity="aes-xcbc-mac-96",
            integrity_key=b"x" * 16,
        ),
        IpsecSa("esp", SPI + 4, encryption="3des-cbc", encryption_key=b"d" * 24),
        IpsecSa("esp", SPI + 5, encryption="aes-gmac", encryption_key=b"m" * 20, esn=True),
        IpsecSa("ah", SPI, integrity="hmac-sha2-256-128", integrity_key=b"h" * 32),
    ]


def test_esp_shorter_than_its_header_is_too_short():
    processor = EspProcessor(SaDatabase(_sas()))
    result = processor.process(_datagram(b"\x00\x00\x30"))
    assert result.status == EspStatus.TOO_SHORT and result.spi is None
    assert processor.malformed == {SHORT_HEADER: 1}


def test_esp_shorter_than_its_sa_needs_is_too_short_and_counted_on_the_sa():
    sadb = SaDatabase(_sas())
    processor = EspProcessor(sadb)
    result = processor.process(_datagram(SPI.to_bytes(4, "big") + bytes(20)))
    assert result.status == EspStatus.TOO_SHORT and result.sa.spi == SPI
    assert result.reason == SHORT_FOR_SA and processor.malformed == {SHORT_FOR_SA: 1}
    assert result.sa.counters.malformed == 1 and result.sa.counters.packets == 1


def test_misaligned_cbc_ciphertext_is_malformed():
    sa = IpsecSa("esp", SPI + 4, encryption="3des-cbc", encryption_key=b"d" * 24)
    processor = EspProcessor(SaDatabase([sa]))
    packet = EspEncoder(sa).encode(b"abc", 17, 1)
    result = processor.process(_datagram(packet[:-3]))
    assert result.status == EspStatus.MALFORMED and result.reason == MISALIGNED
    assert sa.counters.malformed == 1


def test_pad_length_beyond_the_payload_is_garbled_plaintext():
    sa = IpsecSa("esp", SPI + 2, encryption="null")
    processor = EspProcessor(SaDatabase([sa]))
    packet = (SPI + 2).to_bytes(4, "big") + (1).to_bytes(4, "big") + b"\x01\x02" + bytes([200, 17])
    result = processor.process(_datagram(packet))
    assert result.status == EspStatus.GARBLED and result.reason == GARBLED[PAD_LENGTH]
    assert not result.has_plaintext and result.payload is None
    assert (sa.counters.garbled, sa.counters.decrypted, sa.counters.failed_checks) == (1, 0, {PAD_LENGTH: 1})


def test_non_default_padding_before_a_sound_inner_header_is_counted_but_the_payload_is_still_emitted():
    sa = IpsecSa(
        "esp",
        SPI,
        encryption="aes-cbc",
        encryption_key=b"c" * 16,
        integrity="hmac-sha1-96",
        integrity_key=b"a" * 20,
    )
    processor = EspProcessor(SaDatabase([sa]))
    inner = bytes.fromhex("4500001c0000000040116abe01020304050607080000000000080000")  # checksum right
    packet = EspEncoder(sa).encode(inner, 4, 1, padding=b"\xaa" * 2)
    result = processor.process(_datagram(packet))
    assert result.status == EspStatus.BAD_PADDING
    assert result.icv_ok is True and result.padding_ok is False and result.has_plaintext
    assert result.payload == inner and result.pad_length == 2
    assert (sa.counters.verified, sa.counters.bad_padding) == (1, 1)


def test_non_default_padding_with_nothing_else_to_check_is_garbled_and_not_emitted():
    sa = IpsecSa("esp", SPI + 2, encryption="null")
    processor = EspProcessor(SaDatabase([sa]))
    result = processor.process(_datagram(EspEncoder(sa).encode(b"gre payload", 47, 1, padding=b"\xaa" * 3)))
    assert result.status == EspStatus.GARBLED and result.reason == GARBLED[PADDING]
    assert result.payload is None and sa.counters.failed_checks == {PADDING: 1}


def test_tfc_padding_stays_in_the_payload_of_a_tunnel_packet():
    sa = IpsecSa("esp", SPI + 2, encryption="null")
    processor = EspProcessor(SaDatabase([sa]))
    inner = bytes.fromhex("4500001c0000000040116abe01020304050607080000000000080000")
    result = processor.process(_datagram(EspEncoder(sa).encode(inner, 4, 1, tfc_padding=16)))
    assert result.status == EspStatus.DECRYPTED and result.mode == "tunnel"
    assert result.payload == inner + bytes(16)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 6), st.binary(max_size=200))
def test_random_esp_bodies_never_raise(spi_offset, body):
    processor = EspProcessor(SaDatabase(_sas()))
    result = processor.process(_datagram((SPI + spi_offset).to_bytes(4, "big") + body))
    assert isinstance(result.status, EspStatus)
    assert result.status != EspStatus.VERIFIED  # random bytes do not carry a valid ICV
    if result.payload is not None:
        assert len(result.payload) <= len(body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.binary(max_size=80))
def test_random_ah_packets_and_ip_headers_never_raise(packet, header):
    processor = EspProcessor(SaDatabase(_sas()))
    payload = packet[:4] + SPI.to_bytes(4, "big") + packet[8:] if len(packet) >= 8 else packet
    result = processor.process(_datagram(payload, Kind.AH, header))
    assert isinstance(result.status, EspStatus)
    assert result.status != EspStatus.VERIFIED


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200))
def test_every_truncation_of_a_valid_packet_is_handled(cut):
    sa = _sas()[0]
    processor = EspProcessor(SaDatabase([sa]))
    udp = bytes.fromhex("0001000200640000") + bytes(92)  # a UDP header whose length is the payload's
    packet = EspEncoder(sa).encode(udp, 17, 1)
    result = processor.process(_datagram(packet[: len(packet) - cut]))
    if cut == 0:
        assert result.status == EspStatus.VERIFIED
    else:
        assert result.status in (EspStatus.ICV_FAILED, EspStatus.TOO_SHORT, EspStatus.MALFORMED)


def test_non_ipsec_datagrams_are_not_processed():
    processor = EspProcessor(SaDatabase(_sas()))
    assert processor.process(_datagram(b"\x01\x10\x02\x00", Kind.IKE)) is None


def test_padding_check_can_be_switched_off_for_peers_with_other_padding():
    sa = IpsecSa("esp", SPI + 2, encryption="null")
    packet = EspEncoder(sa).encode(bytes.fromhex("0001000200080000"), 17, 1, padding=b"\x00\x00")
    strict = EspProcessor(SaDatabase([sa])).process(_datagram(packet))
    lenient = EspProcessor(
        SaDatabase([IpsecSa("esp", SPI + 2, encryption="null")]), check_padding=False
    ).process(_datagram(packet))
    # strict: a UDP header alone passes too often on noise to vouch for a packet with bad padding
    assert (strict.status, strict.padding_ok, strict.payload) == (EspStatus.GARBLED, False, None)
    assert (lenient.status, lenient.padding_ok) == (EspStatus.DECRYPTED, True)
    assert lenient.payload == bytes.fromhex("0001000200080000")
