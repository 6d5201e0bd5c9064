"""tcpdump's ``-E`` IKEv2 secrets (``ikev2 I|R 0xSPIi 0xSPIr integ:key cipher:key``): tcpdump's own
test capture ikev2pI2.pcap decrypts with its secrets file to the payloads tcpdump prints
(tests/corpus/tcpdump/ikev2pI2.out, tcpdump's expected output); lines written from a lab log
decrypt and verify a real capture like the log itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.loader import load_key_file, load_key_text, load_keylog_file
from tests.conftest import CAPTURES_DIR, KEYS_DIR

TCPDUMP = Path(__file__).resolve().parents[1] / "corpus" / "tcpdump"


def report(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--format", "json", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def tcpdump_printed() -> dict[str, str]:
    """The IDi body and AUTH data tcpdump prints for the decrypted IKE_AUTH (hex)."""
    text = (TCPDUMP / "ikev2pI2.out").read_text()
    idi = re.search(r"\(v2IDi: len=(\d+) ([0-9a-f]+) ", text)
    auth = re.search(r"\(v2auth: len=(\d+) method=(\w+) authdata=\(([0-9a-f]+)\)", text)
    assert idi and auth
    return {"idi_body": idi[2], "auth_method": auth[2], "auth_data": auth[3], "auth_len": auth[1]}


def test_ikev2pI2_decrypts_with_its_secrets_to_what_tcpdump_prints():
    data = report(str(TCPDUMP / "ikev2pI2.pcap"), "--keys", str(TCPDUMP / "ikev2pI2-secrets.txt"))
    (sa,) = data["ike_sas"]
    auth_request = next(m for m in sa["messages"] if m["exchange"] == "IKE_AUTH")
    assert auth_request["decrypted"] is True
    # tcpdump does not check the ICV and this test capture's does not verify: said, not hidden
    assert auth_request["integrity_verified"] is False and "ICV does not verify" in auth_request["note"]
    expected = tcpdump_printed()
    idi = next(p for p in auth_request["payloads"] if p["name"] == "Identification - Initiator")
    auth = next(p for p in auth_request["payloads"] if p["name"] == "Authentication")
    assert f"{idi['id_type']:02x}000000{idi['data']}" == expected["idi_body"]  # ID type, reserved, "west"
    assert (auth["method_name"], expected["auth_method"]) == ("RSA Digital Signature", "rsasig")
    assert auth["data"] == expected["auth_data"] and auth["length"] - 4 == int(expected["auth_len"])


def test_ikev2pI2_stays_sealed_without_the_secrets():
    data = report(str(TCPDUMP / "ikev2pI2.pcap"))
    encrypted = [m for sa in data["ike_sas"] for m in sa["messages"] if m["encrypted"]]
    assert encrypted and not any(m["decrypted"] for m in encrypted)


def test_the_i_and_r_lines_make_one_sa_with_both_sides_keys():
    ring = load_key_file(str(TCPDUMP / "ikev2pI2-secrets.txt"))
    (sa,) = ring.ikev2_keys
    lines = (TCPDUMP / "ikev2pI2-secrets.txt").read_text().splitlines()
    sides = {line.split()[1]: line.split() for line in lines if line.startswith("ikev2 ")}
    assert sa.initiator_spi.hex() == sides["I"][2][2:] and sa.responder_spi.hex() == sides["I"][3][2:]
    assert sa.sk_ai.hex() == sides["I"][4].split(":0x")[1] and sa.sk_ei.hex() == sides["I"][5].split(":0x")[1]
    assert sa.sk_ar.hex() == sides["R"][4].split(":0x")[1] and sa.sk_er.hex() == sides["R"][5].split(":0x")[1]
    assert (sa.encryption, sa.integrity, sa.icv_unchecked) == ("aes-cbc", "hmac-sha1-96", True)


def _tcpdump_lines(log: str) -> str:
    """The IKE SAs of a charon log as tcpdump ikev2 lines (AES-CBC / HMAC-SHA2-256 here)."""
    out = []
    for k in load_keylog_file(str(KEYS_DIR / log)).ikev2_keys:
        assert (k.encryption, k.integrity) == ("aes-cbc", "hmac-sha2-256-128")
        cipher = f"aes{len(k.sk_ei) * 8}"
        spis = f"0x{k.initiator_spi.hex()} 0x{k.responder_spi.hex()}"
        out.append(f"ikev2 I {spis} sha256:0x{k.sk_ai.hex()} {cipher}:0x{k.sk_ei.hex()}")
        out.append(f"ikev2 R {spis} sha256:0x{k.sk_ar.hex()} {cipher}-cbc:0x{k.sk_er.hex()}")
    return "# written from the lab log\n" + "\n".join(out) + "\n"


@pytest.mark.parametrize("name", ["ikev2-psk-aes-cbc-sha256", "ikev2-ike-rekey"])
def test_tcpdump_ikev2_lines_of_a_real_sa_decrypt_and_verify_like_its_log(name, tmp_path):
    path = tmp_path / "secrets.txt"
    path.write_text(_tcpdump_lines(f"{name}.west.log.gz"))
    capture = str(CAPTURES_DIR / f"{name}.pcap")
    from_lines = report(capture, "--keys", str(path))
    from_log = report(capture, "--keylog", str(KEYS_DIR / f"{name}.west.log.gz"))
    messages = [m for sa in from_lines["ike_sas"] for m in sa["messages"] if m["encrypted"]]
    assert messages and all(m["decrypted"] and m["integrity_verified"] for m in messages)

    def opened(data: dict) -> list:
        return [
            (m["frame"], m["decrypted"], m["integrity_verified"])
            for sa in data["ike_sas"]
            for m in sa["messages"]
        ]

    assert opened(from_lines) == opened(from_log)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("ikev2 X 0x0001020304050607 0xc02e7a3031a03188 sha1:0x00 aes128:0x00", "not 'ikev2 I|R"),
        ("ikev2 I 0x0001020304050607 0xc02e7a3031a03188 sha1:0x00 rc4:0x00", "cipher 'rc4'"),
        (
            "ikev2 I 0x0001020304050607 0xc02e7a3031a03188 whirl:0x00 aes128:0x" + "00" * 16,
            "integrity 'whirl'",
        ),
        ("ikev2 I 0x0001020304050607 0xc02e7a3031a03188 sha1:0x00 aes128:0x0011", "needs a 16-byte key"),
    ],
)
def test_a_bad_ikev2_line_is_an_error_with_its_line_number(line, problem):
    with pytest.raises(KeyFileError, match=re.escape(problem)) as caught:
        load_key_text(f"# secrets\n{line}\n", "s.txt")
    assert caught.value.line == 2
