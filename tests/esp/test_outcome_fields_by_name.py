"""An ESP outcome read by its named indexes says what happened to the packet, whichever path made it."""

from __future__ import annotations

import pytest

from ikedecode.esp import IpsecSa, SaDatabase
from ikedecode.esp.encoder import EspEncoder
from ikedecode.esp.opener import EspOpener
from ikedecode.esp.outcome import (
    CODE,
    ERROR_NAME,
    FAILED,
    ICV_OK,
    NEXT_HEADER,
    OPENED_FIELDS,
    OUTCOME_NO_KEYS,
    OUTCOME_OPENED,
    OUTCOME_SHORT_FOR_SA,
    PAD_LENGTH,
    PADDING_OK,
    PAYLOAD,
    PROBLEM,
    SA_INDEX,
    SEQ_HI,
    SEQ_LOW,
    SPI,
)
from tests.esp.payloads import ipv4, udp

SRC, DST = "198.51.100.1", "198.51.100.2"
INNER = ipv4(17, udp(b"inner packet"))  # a sound IPv4 packet (esp/plaintext.py judges it)


def _sa(spi: int, key: bytes = b"k" * 16) -> IpsecSa:
    return IpsecSa(
        "esp", spi, SRC, DST, encryption="aes-cbc", encryption_key=key,
        integrity="hmac-sha1-96", integrity_key=b"a" * 20,
    )  # fmt: skip


def test_the_indexes_name_each_field_of_an_opened_outcome_once() -> None:
    indexes = [CODE, SPI, SEQ_LOW, SA_INDEX, SEQ_HI, ICV_OK, PROBLEM, PAD_LENGTH, NEXT_HEADER, PAYLOAD]
    indexes += [PADDING_OK, FAILED]
    assert sorted(indexes) == list(range(OPENED_FIELDS))
    assert ERROR_NAME == SA_INDEX  # the fourth field: the SA, or in an error outcome the exception


@pytest.mark.parametrize("want_plaintext", [True, False])
def test_an_opened_packet_reads_back_by_name(want_plaintext: bool) -> None:
    other, sa = _sa(0x1000), _sa(0x2000)
    opener = EspOpener(SaDatabase([other, sa]), want_plaintext=want_plaintext)
    packet = EspEncoder(sa).encode(INNER, 4, 77)
    outcome = opener.open(packet, SRC, DST)
    assert len(outcome) == OPENED_FIELDS
    assert (outcome[CODE], outcome[SPI], outcome[SEQ_LOW]) == (OUTCOME_OPENED, 0x2000, 77)
    assert outcome[SA_INDEX] == 1  # the second SA of the database
    assert (outcome[SEQ_HI], outcome[ICV_OK], outcome[PROBLEM], outcome[FAILED]) == (None, True, "", None)
    assert (outcome[NEXT_HEADER], outcome[PADDING_OK]) == (4, True)
    assert outcome[PAD_LENGTH] == -(len(INNER) + 2) % 16  # default padding up to the AES block
    assert outcome[PAYLOAD] == (INNER if want_plaintext else None)


def test_a_packet_no_sa_verifies_names_every_sa_that_failed() -> None:
    first, second = _sa(0x2000, b"x" * 16), _sa(0x2000, b"y" * 16)
    opener = EspOpener(SaDatabase([first, second]))
    packet = bytearray(EspEncoder(first).encode(INNER, 4, 5))
    packet[-1] ^= 1  # the ICV no longer verifies
    outcome = opener.open(bytes(packet), SRC, DST)
    assert (outcome[CODE], outcome[ICV_OK], outcome[FAILED]) == (OUTCOME_OPENED, False, (0, 1))


def test_short_and_unkeyed_packets_carry_only_their_leading_fields() -> None:
    opener = EspOpener(SaDatabase([_sa(0x2000)]))
    short = opener.open((0x2000).to_bytes(4, "big") + (9).to_bytes(4, "big") + b"x", SRC, DST)
    assert short == (OUTCOME_SHORT_FOR_SA, 0x2000, 9, 0) and short[SA_INDEX] == 0
    unkeyed = opener.open((0x3000).to_bytes(4, "big") + (9).to_bytes(4, "big") + b"x" * 64, SRC, DST)
    assert (unkeyed[CODE], unkeyed[SPI], unkeyed[SEQ_LOW]) == (OUTCOME_NO_KEYS, 0x3000, 9)
