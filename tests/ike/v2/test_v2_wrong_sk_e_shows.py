"""A right SK_a with a wrong SK_e verifies every IKEv2 ICV and decrypts to noise (issue 16): the
message is not "verified", it is undecryptable with the reason, and wrong-keys names SK_e. Real
capture: the lab's ikev2-psk-aes-cbc-sha256, its keys exported as Wireshark's IKEv2 table, then
SK_ei changed in tmp_path."""

from __future__ import annotations

from pathlib import Path

from ikedecode.capture import open_capture
from ikedecode.ike.records import Protection
from ikedecode.keys.loader import load_key_file
from ikedecode.keys.tomlfile import parse_key_file
from ikedecode.pipeline import analyze
from ikedecode.render.wireshark_tables import write_wireshark_tables
from tests.conftest import CAPTURES_DIR, KEYS_DIR

NAME = "ikev2-psk-aes-cbc-sha256"


def _table(tmp_path: Path) -> Path:
    ring = parse_key_file((KEYS_DIR / f"{NAME}.toml").read_text(), "k").keyring
    report = analyze(open_capture(CAPTURES_DIR / f"{NAME}.pcap"), ring)
    write_wireshark_tables(str(tmp_path), report, ring)
    return tmp_path / "ikev2_decryption_table"


def _report(table: Path):  # noqa: ANN202
    return analyze(open_capture(CAPTURES_DIR / f"{NAME}.pcap"), load_key_file(str(table)))


def test_a_wrong_sk_e_with_the_right_sk_a_is_never_verified(tmp_path: Path):
    table = _table(tmp_path)
    right = _report(table)
    line = next(line for line in table.read_text().splitlines() if line and not line.startswith("#"))
    fields = line.split(",")
    fields[2] = f"{int(fields[2][:2], 16) ^ 0x5A:02x}" + fields[2][2:]  # SK_ei, first byte
    wrong_table = tmp_path / "wrong_sk_ei"
    wrong_table.write_text(table.read_text().replace(line, ",".join(fields)))
    wrong = _report(wrong_table)

    def initiator_protected(report):  # noqa: ANN001, ANN202
        (sa,) = [sa for sa in report.ike_sas if sa.initiator_cookie.hex() == fields[0]]
        return [m for m in sa.messages if m.sender == sa.initiator and m.protection != Protection.CLEAR]

    assert {m.protection for m in initiator_protected(right)} == {Protection.VERIFIED}
    garbled = initiator_protected(wrong)
    assert garbled and {m.protection for m in garbled} == {Protection.UNDECRYPTABLE}
    assert all("SK_e wrong" in m.note and m.integrity_verified for m in garbled)
    codes = [(f.code, f.message) for f in wrong.all_findings() if f.code == "wrong-keys"]
    assert len(codes) == 1 and "SK_a is right and SK_e wrong" in codes[0][1]
