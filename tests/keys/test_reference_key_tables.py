"""The public reference captures decrypt with the key tables that come with them, and ikedecode
shows what /work/shared/reference/README.md says a correct decoder shows."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.loader import load_key_file
from ikedecode.keys.wireshark import read_ikev2_decryption_table
from ikedecode.render.redact import REDACTED

IKEV1_TABLE = "wireshark/config/ikev1_decryption_table"


def report(reference_dir, capture: str, *args: str, fmt: str = "json"):  # noqa: ANN001, ANN201
    result = CliRunner().invoke(
        main,
        [str(reference_dir / capture), "--keys", str(reference_dir / IKEV1_TABLE), "--format", fmt, *args],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout) if fmt == "json" else result.stdout


def messages(data: dict) -> dict[int, dict]:
    return {m["frame"]: m for sa in data["ike_sas"] for m in sa["messages"]}


@pytest.mark.parametrize(
    ("capture", "encrypted_frames"),
    [
        ("wireshark/captures/ikev1-certs.pcap", [5, 6, 7, 8, 9, 10]),
        ("wireshark/captures/ikev1-bug-12610.pcapng.gz", list(range(5, 17))),
        ("wireshark/captures/ikev1-bug-12620.pcapng.gz", list(range(4, 11))),
    ],
)
def test_ikev1_table_decrypts_every_encrypted_message_without_checking_hashes(
    capture, encrypted_frames, reference_dir
):
    by_frame = messages(report(reference_dir, capture))
    assert [f for f, m in by_frame.items() if m["encrypted"]] == encrypted_frames
    for frame in encrypted_frames:
        m = by_frame[frame]
        # the table's key is the final cipher key: there is no SKEYID_a to check hashes with
        assert (m["decrypted"], m["protection"], m["hash_verified"]) == (True, "decrypted", None), frame
        assert m["payloads"] and not m["problems"]


def test_ikev1_certs_retransmitted_frame_8_decodes_like_frame_7(reference_dir):
    by_frame = messages(report(reference_dir, "wireshark/captures/ikev1-certs.pcap"))
    seventh, eighth = by_frame[7], by_frame[8]
    names = [p["name"] for p in eighth["payloads"]]
    assert names == [
        "Hash",
        "Security Association",
        "Nonce",
        "Key Exchange",
        "Identification",
        "Identification",
    ]
    assert names == [p["name"] for p in seventh["payloads"]]
    assert eighth["retransmission_of"] == 7 and eighth["label"] == seventh["label"] == "QM1"
    assert [p.get("data") for p in eighth["payloads"]] == [p.get("data") for p in seventh["payloads"]]


def _attributes(message: dict) -> dict[str, dict]:
    return {a["name"]: a for p in message["payloads"] if p["name"] == "Attributes" for a in p["attributes"]}


def test_ikev1_bug_12610_xauth_user_address_and_hidden_password(reference_dir):
    capture = "wireshark/captures/ikev1-bug-12610.pcapng.gz"
    by_frame = messages(report(reference_dir, capture))
    xauth = _attributes(by_frame[9])
    assert xauth["XAUTH_USER_NAME"]["text"] == "mpa"
    assert (
        xauth["XAUTH_USER_PASSWORD"]["value"] == REDACTED and xauth["XAUTH_USER_PASSWORD"]["text"] == REDACTED
    )
    assert _attributes(by_frame[13])["INTERNAL_IP4_ADDRESS"]["text"] == "10.1.1.1"
    assert by_frame[9]["payloads"][0]["data"].startswith("b52521f774967402c9f6cee95fd17e5b")  # README's HASH
    text = report(reference_dir, capture, fmt="text")
    flat = " ".join(text.split())  # the payloads column wraps at spaces
    assert "XAUTH_USER_NAME=mpa" in flat and f"XAUTH_USER_PASSWORD={REDACTED}" in flat
    shown = messages(report(reference_dir, capture, "--show-keys"))
    assert _attributes(shown[9])["XAUTH_USER_PASSWORD"]["text"].rstrip("\x00") == "mpa"  # sent NUL-terminated


def test_ikev1_bug_12620_aggressive_mode_xauth_and_address(reference_dir):
    by_frame = messages(report(reference_dir, "wireshark/captures/ikev1-bug-12620.pcapng.gz"))
    assert by_frame[3]["encrypted"] is False  # AM3 sent in clear, as the README says
    # Wireshark's test expects isakmp.hash 40043b64...: tshark 4.0.17 shows it in frame 4 (the first
    # encrypted message, an informational), frame 3's HASH_I being 983c173a...; so does ikedecode
    assert by_frame[3]["payloads"][0]["data"].startswith("983c173af3ff22572d355779bca2a948")
    assert by_frame[4]["payloads"][0]["data"].startswith("40043b640f4373250d5ac3a1fb63153c")
    assert _attributes(by_frame[6])["XAUTH_USER_NAME"]["text"] == "mpa"
    assert _attributes(by_frame[6])["XAUTH_USER_PASSWORD"]["text"] == REDACTED
    assert _attributes(by_frame[10])["INTERNAL_IP4_ADDRESS"]["text"] == "10.1.1.1"


def test_esp_sa_table_verifies_every_packet_of_esp_bug_12671(reference_dir):
    result = CliRunner().invoke(
        main,
        [
            str(reference_dir / "wireshark/captures/esp-bug-12671.pcapng.gz"),
            "--keys",
            str(reference_dir / "wireshark/config/esp_sa"),
            "--format",
            "json",
        ],
        catch_exceptions=False,
    )
    sas = json.loads(result.stdout)["ipsec_sas"]
    assert sorted((s["spi"], s["packets"], s["verified"], s["icv_failed"]) for s in sas) == [
        ("0x070883c2", 3, 3, 0),
        ("0xc254fe64", 3, 3, 0),
    ]


def test_ikev2_tables_load_with_their_algorithms(reference_dir):
    keys = load_key_file(str(reference_dir / "wireshark/config/ikev2_decryption_table")).ikev2_keys
    assert len(keys) == 9  # one per line, the comment skipped
    by_spi = {k.initiator_spi.hex(): k for k in keys}
    gcm = by_spi["0158b8fb90b7623d"]
    assert (gcm.encryption, gcm.integrity, len(gcm.sk_ei), gcm.sk_ai) == ("aes-gcm-16", "null", 36, b"")
    sha1 = by_spi["19ab98963486359f"]
    assert (sha1.encryption, sha1.integrity, len(sha1.sk_ai)) == ("3des-cbc", "hmac-sha1-160", 20)
    assert by_spi["a2926ae833c6f138"].integrity == "any-96"
    wiki = load_key_file(str(reference_dir / "wireshark-wiki/ipsec_ikev2_esp_nat_t/ikev2_decryption_table"))
    assert [k.encryption for k in wiki.ikev2_keys] == ["aes-gcm-16", "aes-ctr", "aes-cbc"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            '0158b8fb90b7623d,13514610cea16160,00,00,"AES-GCM-256 with 16 octet ICV [RFC5282]",,,'
            '"NONE [RFC4306]"',
            "SK_ei has 1 bytes, AES-GCM-256 with 16 octet ICV [RFC5282] needs 36",
        ),
        (
            '0158b8fb90b7,13514610cea16160,,,"NULL [RFC2410]",,,"NONE [RFC4306]"',
            "initiator SPI must be 8 bytes",
        ),
        (
            '0158b8fb90b7623d,13514610cea16160,,,"ROT13 [RFC0000]",,,"NONE [RFC4306]"',
            "unknown IKEv2 encryption",
        ),
        ('0158b8fb90b7623d,13514610cea16160,,,"NULL [RFC2410]",zz,,"NONE [RFC4306]"', "SK_ai: not hex"),
        (
            '0158b8fb90b7623d,13514610cea16160,,,"NULL [RFC2410]",00,,"HMAC_SHA1_96 [RFC2404]"',
            "SK_ai has 1 bytes, HMAC_SHA1_96 [RFC2404] needs 20",
        ),
    ],
)
def test_broken_ikev2_table_lines_name_file_and_line(line, message):
    with pytest.raises(KeyFileError) as caught:
        read_ikev2_decryption_table(f"# header\n{line}\n", "ikev2_decryption_table")
    assert str(caught.value).startswith("ikev2_decryption_table:2")
    assert message in str(caught.value)
