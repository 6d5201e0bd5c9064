"""ISAKMP header parsing (RFC 2408 3.1) on ike-scan's recorded responses and hand-built edge cases."""

from __future__ import annotations

import struct

import pytest

from ikedecode.ike.errors import MalformedMessage
from ikedecode.ike.header import HEADER_LENGTH, IsakmpHeader, parse_header

# (file, CKY-R as ike-scan's check-decode prints it, IKE major version)
IKE_SCAN_RESPONSES = [
    ("pkt-main-mode-response.dat", "636fa075dcf8ba90", 1),
    ("pkt-aggr-mode-response.dat", "61a878367079dd35", 1),
    ("pkt-notify-response.dat", "0000000000000000", 1),
    ("pkt-v2-sainit-response.dat", "224bb31e5cd6a0db", 2),
    ("pkt-v2-notify-response.dat", "16d65a5a981a7c48", 2),
    ("pkt-aggr-cert-response.dat", "94403c1b3fcacf94", 1),
    ("pkt-main-natt-response.dat", "f92704e8a4245b38", 1),
    ("pkt-checkpoint-notify.dat", "0000000000000000", 1),
]
NON_ESP_MARKER = b"\x00\x00\x00\x00"  # RFC 3948 2.2: IKE on port 4500 starts with four zero bytes


def read_response(reference_dir, filename: str) -> bytes:
    data = (reference_dir / "ike-scan" / "pkt" / filename).read_bytes()
    # check-decode runs the NAT-T sample with --nat-t: the file holds the port-4500 UDP payload
    return data[len(NON_ESP_MARKER):] if data.startswith(NON_ESP_MARKER) else data


@pytest.mark.parametrize(("filename", "responder_cookie", "major"), IKE_SCAN_RESPONSES)
def test_ike_scan_response_cookies_and_version(reference_dir, filename, responder_cookie, major):
    header = parse_header(read_response(reference_dir, filename))
    assert header.initiator_cookie == bytes.fromhex("deadbeefdeadbeef")  # check-decode --cookie
    assert header.responder_cookie.hex() == responder_cookie
    assert header.major_version == major
    assert header.is_ikev2 is (major == 2)
    assert header.is_ikev1 is (major == 1)


def test_notify_response_message_id_and_exchange(reference_dir):
    header = parse_header(read_response(reference_dir, "pkt-notify-response.dat"))
    assert header.message_id == 0x41A8534E
    assert header.to_dict()["message_id"] == "41a8534e"
    assert header.exchange_type == 5
    assert header.exchange_name == "Informational"
    assert header.next_payload == 11  # a Notification payload follows


def test_ikev2_sa_init_response_is_recognised(reference_dir):
    header = parse_header(read_response(reference_dir, "pkt-v2-sainit-response.dat"))
    assert header.exchange_name == "IKE_SA_INIT"
    assert header.is_response is True
    assert header.flag_names == ["R"]
    assert header.length == 232
    assert len(header.body) == 232 - HEADER_LENGTH


def test_aggressive_mode_response_header_fields(reference_dir):
    header = parse_header(read_response(reference_dir, "pkt-aggr-mode-response.dat"))
    assert header.exchange_name == "Aggressive"
    assert (header.major_version, header.minor_version) == (1, 0)
    assert header.flags == 0 and not header.encrypted and header.is_response is None
    assert header.length == 348 and header.trailing == b""


def build_header(
    flags: int = 0, length: int = HEADER_LENGTH, version: int = 0x10, message_id: int = 0
) -> bytes:
    return b"\x11" * 8 + b"\x22" * 8 + struct.pack("!BBBBII", 8, version, 32, flags, message_id, length)


@pytest.mark.parametrize(
    ("flags", "encrypted", "commit", "authentication_only"),
    [
        (0x01, True, False, False),
        (0x02, False, True, False),
        (0x04, False, False, True),
        (0x07, True, True, True),
    ],
)
def test_ikev1_flag_bits(flags, encrypted, commit, authentication_only):
    header = parse_header(build_header(flags=flags))
    assert header.encrypted is encrypted
    assert header.commit is commit
    assert header.authentication_only is authentication_only


def test_header_fields_from_hand_built_bytes():
    header = parse_header(build_header(flags=1, message_id=0xF2CFE203, length=HEADER_LENGTH + 4) + b"abcd")
    assert header.initiator_cookie == b"\x11" * 8 and header.responder_cookie == b"\x22" * 8
    assert header.next_payload == 8 and header.exchange_name == "Quick Mode"
    assert header.message_id == 0xF2CFE203
    assert header.body == b"abcd"
    assert header.flag_names == ["E"]
    assert "Quick Mode" in header.summary() and "f2cfe203" in header.summary()
    assert isinstance(header, IsakmpHeader)
    assert bytes(header)[:HEADER_LENGTH] == build_header(flags=1, message_id=0xF2CFE203, length=32)


def test_bytes_after_the_length_field_are_kept_apart():
    header = parse_header(build_header(length=HEADER_LENGTH) + b"\x00\x00")
    assert header.body == b""
    assert header.trailing == b"\x00\x00"


@pytest.mark.parametrize("size", [0, 1, 27])
def test_too_short_for_a_header(size):
    with pytest.raises(MalformedMessage) as error:
        parse_header(b"\x01" * size)
    assert "too short" in error.value.reason
    assert error.value.header is None


def test_length_field_below_header_size():
    with pytest.raises(MalformedMessage) as error:
        parse_header(build_header(length=20))
    assert "smaller than the ISAKMP header" in error.value.reason


def test_truncated_message_still_reports_its_cookies():
    with pytest.raises(MalformedMessage) as error:
        parse_header(build_header(length=100) + b"\x00" * 10)
    assert "truncated" in error.value.reason
    assert error.value.header is not None
    assert error.value.header.initiator_cookie == b"\x11" * 8
    assert isinstance(error.value, ValueError)
