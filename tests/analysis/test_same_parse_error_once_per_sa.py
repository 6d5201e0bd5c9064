"""The same parse error once per IKE SA: a peer that sends the same damage in four messages (a
broken implementation: each copy differs in its last byte, so none is a retransmission) gives one
``malformed-message`` finding listing the frames, not four (real capture, MM1 / MM5 edited)."""

from __future__ import annotations

from pathlib import Path

import dpkt

from tests.analysis.capture_edits import read_frames, write_frames
from tests.conftest import CAPTURES_DIR, analyze_path

CAPTURE = CAPTURES_DIR / "mm-aes128-sha1-modp2048.pcap"
PROPOSAL_LENGTH = 28 + 4 + 4 + 4 + 3  # ISAKMP header, SA header, DOI, situation: the proposal's length


def _edit_ike(frame: bytes, edit) -> bytes:  # noqa: ANN001
    eth = dpkt.ethernet.Ethernet(frame)
    ip, udp = eth.data, eth.data.data
    marker = b"\0\0\0\0" if 4500 in (udp.sport, udp.dport) else b""  # RFC 3948 non-ESP marker
    udp.data = marker + edit(bytes(udp.data)[len(marker) :])
    udp.ulen, udp.sum = 8 + len(udp.data), 0
    ip.data, ip.len, ip.sum = udp, 20 + 8 + len(udp.data), 0
    return bytes(eth)


def _retransmitted(tmp_path: Path, index: int, edit) -> Path:  # noqa: ANN001
    linktype, frames = read_frames(CAPTURE)
    time, frame = frames[index]
    frames[index] = (time, _edit_ike(frame, edit))
    copies = [  # the same damage, the last byte changed: not retransmissions of one message
        (time + 1.0 * n, _edit_ike(frame, lambda ike, n=n: edit(ike)[:-1] + bytes([n]))) for n in (1, 2, 3)
    ]
    return write_frames(
        tmp_path / "edited.pcap", linktype, frames[: index + 1] + copies + frames[index + 1 :]
    )


def _malformed(path: Path, keys: bool = False) -> list:
    keyring = None
    if keys:
        from ikedecode.keys.loader import load_key_file

        keyring = load_key_file(str(Path(CAPTURES_DIR).parent / "keys" / f"{CAPTURE.stem}.toml"))
    report = analyze_path(path, keyring)
    return [f for f in report.all_findings() if f.code == "malformed-message"]


def test_a_retransmitted_malformed_payload_chain_is_one_finding(tmp_path):
    def proposal_too_long(ike: bytes) -> bytes:
        return ike[:PROPOSAL_LENGTH] + b"\xff" + ike[PROPOSAL_LENGTH + 1 :]

    found = _malformed(_retransmitted(tmp_path, 0, proposal_too_long))
    assert len(found) == 1, [f.message for f in found]
    assert found[0].evidence["frames"] == [1, 2, 3, 4]
    assert (
        "proposal at offset 40: length 255 runs past" in found[0].message
        and "(the same in 4 messages: frames 1, 2, 3, 4)" in found[0].message
    )


def test_a_retransmitted_cut_ciphertext_is_one_finding(tmp_path):
    def cut(ike: bytes) -> bytes:  # MM5 three bytes short: no whole number of AES blocks
        body = ike[:-3]
        return body[:24] + len(body).to_bytes(4, "big") + body[28:]

    found = _malformed(_retransmitted(tmp_path, 4, cut), keys=True)
    assert len(found) == 1, [f.message for f in found]
    assert (
        found[0].evidence["frames"] == [5, 6, 7, 8] and "cannot be decrypted by any key" in found[0].message
    )
