"""strongSwan's save-keys plugin output (``charon.plugins.save-keys.wireshark_keys``): the
``ikev2_decryption_table`` and ``esp_sa`` files it appends to, in its own spellings (its
save_keys_listener.c: lower-case hex from ``%+B``, empty SK_ai/SK_ar for AEAD, ``NONE [RFC4306]``,
ESP ``AES-GCM [RFC4106]`` with ``ANY 128 bit authentication [no checking]`` and key ``0x``,
``TripleDes-CBC``), recognised by content and decrypting like the daemon's own log.

The files are written here from the keys in the lab's real charon logs, line for line as the
plugin formats them (the lab daemons ran without the plugin)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from ikedecode.keys.loader import load_key_file, load_keylog_file
from ikedecode.keys.wireshark_names import ikev2_encryption_name, ikev2_integrity_name
from tests.conftest import CAPTURES_DIR, KEYS_DIR

# save_keys_listener.c's esp_sa names (esp_encr / esp_integ); AEAD: the ICV as "ANY n bit", where
# the plugin gives 64 bits for both 8- and 12-octet ICVs
PLUGIN_ESP_ENCRYPTION = {
    "null": "NULL",
    "3des-cbc": "TripleDes-CBC [RFC2451]",
    "aes-cbc": "AES-CBC [RFC3602]",
    "aes-ctr": "AES-CTR [RFC3686]",
    **{f"aes-gcm-{icv}": "AES-GCM [RFC4106]" for icv in (8, 12, 16)},
}
PLUGIN_ESP_INTEGRITY = {
    "hmac-sha1-96": "HMAC-SHA-1-96 [RFC2404]",
    "hmac-md5-96": "HMAC-MD5-96 [RFC2403]",
    "hmac-sha2-256-128": "HMAC-SHA-256-128 [RFC4868]",
    "hmac-sha2-384-192": "HMAC-SHA-384-192 [RFC4868]",
    "hmac-sha2-512-256": "HMAC-SHA-512-256 [RFC4868]",
}
AEAD_ICV = {"aes-gcm-8": 64, "aes-gcm-12": 64, "aes-gcm-16": 128}


def plugin_tables(log_name: str) -> tuple[str, str]:
    """The two files as the plugin appends them for the SAs of one charon log."""
    ring = load_keylog_file(str(KEYS_DIR / log_name))
    ikev2 = []
    for k in ring.ikev2_keys:
        encryption = ikev2_encryption_name(k.encryption or "", len(k.sk_ei))
        integrity = ikev2_integrity_name(k.integrity or "")
        assert encryption and integrity
        fields = [
            k.initiator_spi.hex(),
            k.responder_spi.hex(),
            k.sk_ei.hex(),
            k.sk_er.hex(),
            f'"{encryption}"',
        ]
        ikev2.append(",".join([*fields, k.sk_ai.hex(), k.sk_ar.hex(), f'"{integrity}"']))
    esp = []
    for sa in ring.ipsec_sas:
        encryption = PLUGIN_ESP_ENCRYPTION[sa.encryption]
        if sa.encryption in AEAD_ICV:
            integrity = f"ANY {AEAD_ICV[sa.encryption]} bit authentication [no checking]"
        else:
            integrity = PLUGIN_ESP_INTEGRITY[sa.integrity]
        fields = ["IPv4", sa.src, sa.dst, f"0x{sa.spi:08x}", encryption, f"0x{sa.encryption_key.hex()}"]
        esp.append(",".join(f'"{f}"' for f in [*fields, integrity, f"0x{sa.integrity_key.hex()}"]))
    return "\n".join(ikev2) + "\n", "\n".join(esp) + "\n"


def outcome(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--format", "json", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    return {
        "messages": [
            (m["frame"], m["decrypted"], m["integrity_verified"])
            for sa in report["ike_sas"]
            for m in sa["messages"]
        ],
        "esp": sorted((s["spi"], s["packets"], s["verified"], s["icv_failed"]) for s in report["ipsec_sas"]),
    }


@pytest.mark.parametrize(
    "name", ["ikev2-psk-aes-cbc-sha256", "ikev2-aes-gcm", "ikev2-ike-rekey", "ikev2-child-rekey-pfs"]
)
def test_save_keys_tables_decrypt_like_the_daemon_log(name, tmp_path):
    log = f"{name}.west.log.gz"
    ikev2_text, esp_text = plugin_tables(log)
    (tmp_path / "ikev2_decryption_table").write_text(ikev2_text)
    (tmp_path / "esp_sa").write_text(esp_text)
    capture = str(CAPTURES_DIR / f"{name}.pcap")
    from_tables = outcome(
        capture, "--keys", str(tmp_path / "ikev2_decryption_table"), "--keys", str(tmp_path / "esp_sa")
    )
    assert any(m[1] for m in from_tables["messages"]) and any(e[2] for e in from_tables["esp"])
    assert from_tables == outcome(capture, "--keylog", str(KEYS_DIR / log))
    ring = load_key_file(str(tmp_path / "ikev2_decryption_table"))
    assert all(k.stage == 0 for k in ring.ikev2_keys)  # one derivation per SA in these captures


def test_several_plugin_lines_for_one_spi_pair_are_key_stages_in_order(tmp_path):
    ikev2_text, _ = plugin_tables("ikev2-psk-aes-cbc-sha256.west.log.gz")
    (first,) = ikev2_text.splitlines()
    fields = first.split(",")
    second = ",".join([*fields[:2], fields[3], fields[2], *fields[4:]])  # another stage's keys
    path = tmp_path / "ikev2_decryption_table"
    path.write_text(f"{first}\n{second}\n")
    ring = load_key_file(str(path))
    assert [k.stage for k in ring.ikev2_keys] == [0, 1]
    assert ring.ikev2_keys[0].sk_ei == ring.ikev2_keys[1].sk_er
    assert "key stage 2" in ring.ikev2_keys[1].origin


@pytest.mark.parametrize(
    "name",
    [
        "ikev2-pq-hybrid",
        "ikev2-pq-mlkem1024-two-addke",
        "ikev2-pq-ike-rekey-hybrid",
        "ikev2-pq-child-rekey-addke",
    ],
)
def test_save_keys_lines_of_each_rfc9370_stage_decrypt_every_message_under_its_stage(name, tmp_path):
    """The plugin appends one line per derivation: an SA with additional key exchanges has one per
    stage, and each message opens under the stage in force when it was sent (issue 18)."""
    log = f"{name}.west.log.gz"
    ikev2_text, esp_text = plugin_tables(log)
    (tmp_path / "ikev2_decryption_table").write_text(ikev2_text)
    (tmp_path / "esp_sa").write_text(esp_text)
    capture = str(CAPTURES_DIR / f"{name}.pcap")
    tables = ("--keys", str(tmp_path / "ikev2_decryption_table"), "--keys", str(tmp_path / "esp_sa"))
    from_tables = outcome(capture, *tables)
    assert all(m[1] and m[2] for m in from_tables["messages"] if m[1] is not None)
    assert from_tables == outcome(capture, "--keylog", str(KEYS_DIR / log))
    stages = [k.stage for k in load_key_file(str(tmp_path / "ikev2_decryption_table")).ikev2_keys]
    assert max(stages) >= 1  # several lines for one SPI pair
