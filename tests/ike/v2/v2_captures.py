"""The IKEv2 captures the tests run on: the lab's (shipped in captures/) and Wireshark's public ones."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
LAB_CAPTURES = sorted(p.stem for p in (PROJECT_ROOT / "captures").glob("ikev2-*.pcap"))
REFERENCE_CAPTURES = [
    "ikev2-decrypt-3des-sha1_160.pcap",
    "ikev2-decrypt-aes128ccm12-2.pcap",
    "ikev2-decrypt-aes128ccm12.pcap",
    "ikev2-decrypt-aes192ctr.pcap",
    "ikev2-decrypt-aes256cbc.pcapng",
    "ikev2-decrypt-aes256ccm16.pcapng",
    "ikev2-decrypt-aes256gcm16.pcap",
    "ikev2-decrypt-aes256gcm8.pcap",
]
REFERENCE_TABLE = "wireshark/config/ikev2_decryption_table"


def lab_keyring(name: str):  # noqa: ANN201
    from ikedecode.keys.loader import load_key_text

    path = PROJECT_ROOT / "keys" / f"{name}.toml"
    return load_key_text(path.read_text(), str(path))
