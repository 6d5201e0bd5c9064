"""An IpsecSa's key configuration is frozen; its counters and cipher state are a state of their own."""

from __future__ import annotations

import dataclasses

import pytest

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.esp import EspProcessor, EspStatus, IpsecSa, SaDatabase
from ikedecode.esp.encoder import EspEncoder
from tests.esp.payloads import tcp


def _sa(**extra) -> IpsecSa:  # noqa: ANN003
    return IpsecSa(
        "esp",
        0x3000,
        "198.51.100.1",
        "198.51.100.2",
        encryption="aes-cbc",
        encryption_key=b"k" * 16,
        integrity="hmac-sha1-96",
        integrity_key=b"a" * 20,
        **extra,
    )


def _packets(sa: IpsecSa, count: int) -> list[Datagram]:
    encoder = EspEncoder(sa)
    return [
        Datagram(
            frame=n,
            time=float(n),
            kind=Kind.ESP,
            src=sa.src,
            dst=sa.dst,
            sport=0,
            dport=0,
            payload=encoder.encode(tcp(b"data"), 6, n),
        )  # fmt: skip
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize("name", ["integrity_key", "encryption_key", "spi", "mode", "origin"])
def test_the_key_configuration_cannot_be_changed(name: str) -> None:
    sa = _sa()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(sa, name, getattr(sa, name))


def test_a_fresh_copy_has_the_configuration_and_nothing_seen() -> None:
    sa = _sa(origin="key file")
    processor = EspProcessor(SaDatabase([sa]))
    for datagram in _packets(sa, 3):
        assert processor.process(datagram).status == EspStatus.VERIFIED
    copy = sa.fresh()
    assert (sa.counters.packets, sa.state.crypto is not None) == (3, True)
    assert (copy.counters.packets, copy.state.crypto) == (0, None)
    config = [field.name for field in dataclasses.fields(IpsecSa) if field.name != "state"]
    assert [getattr(copy, name) for name in config] == [getattr(sa, name) for name in config]


def test_a_quick_mode_rederiving_key_file_keys_names_itself_and_keeps_the_counts() -> None:
    from_file = _sa(origin="key file")
    sadb = SaDatabase([from_file])
    processor = EspProcessor(sadb)
    packets = _packets(from_file, 4)
    for datagram in packets[:2]:
        processor.process(datagram)
    kept = sadb.add(_sa(origin="quick mode", ike_cookies="0102/0304", message_id=7))
    assert kept is not from_file and sadb[0] is kept and len(sadb) == 1
    assert (kept.ike_cookies, kept.message_id, kept.origin) == ("0102/0304", 7, "quick mode (also key file)")
    assert from_file.ike_cookies is None  # the key file's SA itself is left as it was
    for datagram in packets[2:]:
        assert processor.process(datagram).sa is kept
    assert kept.counters.packets == kept.counters.verified == 4
