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


_DERIVED_CASES = [
    (
        "esp",
        0x3000,
        "198.51.100.1",
        "198.51.100.2",
        "aes-cbc",
        b"k" * 16,
        "hmac-sha1-96",
        b"a" * 20,
        "tunnel",
        False,
    ),
    ("esp", 7, "2001:db8::0001", None, "AES-GCM-16", b"g" * 20, "null", b"x" * 20, None, True),
    ("ah", 0xFFFFFFFF, "", "*", "null", b"e" * 8, "hmac-sha2-256-128", b"i" * 32, "transport", False),
    ("esp", 9, "192.0.2.1", "192.0.2.2", "null", b"dropped", "hmac-md5-96", b"m" * 16, None, False),
]


def _constructed(case: tuple | list, **where: object) -> IpsecSa:
    """The record of one of ``_DERIVED_CASES`` made by the dataclass constructor (keywords as the
    key files and tests give them), with ``where`` (origin, IKE cookies, message ID)."""
    protocol, spi, src, dst, encryption, encryption_key, integrity, integrity_key, mode, esn = case
    return IpsecSa(
        protocol,
        spi,
        src,
        dst,
        encryption=encryption,
        encryption_key=encryption_key,
        integrity=integrity,
        integrity_key=integrity_key,
        mode=mode,
        esn=esn,
        **where,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("case", _DERIVED_CASES)
def test_an_sa_derived_by_ike_is_the_record_the_constructor_makes(case: tuple) -> None:
    made = _constructed(case, origin="quick mode 0x1", ike_cookies="0102/0304", message_id=1)
    derived = IpsecSa.derived(*case, "quick mode 0x1", "0102/0304", 1)
    names = [field.name for field in dataclasses.fields(IpsecSa) if field.name != "state"]
    assert [getattr(derived, name) for name in names] == [getattr(made, name) for name in names]
    assert type(derived) is IpsecSa and derived.state is not made.state
    assert (derived.counters.packets, derived.state.crypto) == (0, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        derived.spi = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({0: "ipcomp"}, "protocol must be"),
        ({1: 1 << 32}, "does not fit 32 bits"),
        ({8: "sideways"}, "mode must be"),
        ({2: "not-an-address"}, "is not an IP address"),
        ({5: b"short"}, "needs a"),
        ({4: "rot13"}, "rot13"),
    ],
)
def test_an_sa_derived_by_ike_is_refused_as_the_constructor_refuses(change: dict, error: str) -> None:
    case = list(_DERIVED_CASES[0])
    for at, value in change.items():
        case[at] = value
    with pytest.raises(ValueError, match=error) as made:
        _constructed(case)
    with pytest.raises(ValueError, match=error) as derived:
        IpsecSa.derived(*case, "", None, None)
    assert (type(derived.value), str(derived.value)) == (type(made.value), str(made.value))
