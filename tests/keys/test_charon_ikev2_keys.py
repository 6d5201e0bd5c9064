"""strongSwan charon logs of IKEv2 SAs (keys/ikev2-*.<west|east>.log.gz, the lab's real daemon logs):
every IKE SA's SK_* keys are found and tied to its SPIs, child SA keys to their ESP SPIs, in the
file, syslog and journal line shapes; a rekeyed IKE SA's keys logged under the old SA's name go
to the new SA; several derivations for one SA are its key stages, in order.

The reference is captures/lab/ikev2_keys.py, the lab tool that wrote keys/ikev2-*.toml from the
same logs (its values were checked against the captures with tshark).
"""

from __future__ import annotations

import gzip
import importlib.util
import re
import sys

import pytest

from ikedecode.keys.charon_log import parse_charon_log
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.loader import load_key_file, load_keylog_file
from tests.conftest import CAPTURES_DIR, KEYS_DIR, shipped

CHARON_LOGS = [p for p in shipped(KEYS_DIR, "ikev2-*.log.gz") if ".pluto." not in p.name]
NO_KEYS = {
    "ikev2-no-proposal",
    "ikev2-pq-addke-unsupported",
    "ikev2-pq-init-fragments-lost",
}  # nothing derived
SK_NAMES = ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr")


def _lab_tool():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("ikev2_keys", CAPTURES_DIR / "lab" / "ikev2_keys.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("ikev2_keys", module)
    spec.loader.exec_module(module)
    return module


LAB = _lab_tool()


def _capture(path) -> str:  # noqa: ANN001
    return path.name.split(".")[0]


def _ike_entries(ring) -> list:  # noqa: ANN001
    return sorted(
        (k.initiator_spi.hex(), k.responder_spi.hex(), tuple((getattr(k, n) or b"").hex() for n in SK_NAMES))
        for k in ring.ikev2_keys
    )


def _lab_ike_entries(log) -> list:  # noqa: ANN001
    """Every key stage the lab tool read (RFC 9370 stages, the RFC 8784 PPK step's SK_d/SK_pi/SK_pr)."""
    return sorted(
        (sa.spi_i, sa.spi_r, tuple(stage.get(n, b"").hex() for n in SK_NAMES))
        for sa in log.ike_sas
        for stage in (sa.stages or [sa.keys])
    )


def _child_entries(ring) -> list:  # noqa: ANN001
    return sorted((f"{s.spi:08x}", s.src, s.dst, s.encryption_key, s.integrity_key) for s in ring.ipsec_sas)


def _lab_child_entries(log) -> list:  # noqa: ANN001
    return sorted((e.spi, e.src, e.dst, e.encryption_key, e.integrity_key) for e in log.esp_sas())


@pytest.mark.parametrize("path", [p for p in CHARON_LOGS if _capture(p) not in NO_KEYS], ids=lambda p: p.name)
def test_ikev2_sk_keys_and_spis_equal_what_the_lab_tool_extracts(path):
    lab = LAB.parse_charon_log(path)
    assert lab.ike_sas, "the lab tool finds keys in this log"
    ring = load_keylog_file(str(path))
    assert _ike_entries(ring) == _lab_ike_entries(lab)
    ppk_steps = [k for k in ring.ikev2_keys if not k.sk_ei]  # RFC 8784: SK_d, SK_pi, SK_pr only
    assert all(k.sk_d and k.sk_pi and k.sk_pr and k.stage for k in ppk_steps)
    assert len(ppk_steps) == sum(1 for sa in lab.ike_sas if sa.ppk_stage)
    assert all(k.initiator_spi and k.responder_spi and k.sk_d for k in ring.ikev2_keys)
    assert all(k.encryption and k.integrity for k in ring.ikev2_keys)  # a rekey's too
    assert _child_entries(ring) == _lab_child_entries(lab)
    assert _ike_entries(load_key_file(str(path))) == _ike_entries(ring)  # --keys recognises it too


@pytest.mark.parametrize("path", [p for p in CHARON_LOGS if _capture(p) in NO_KEYS], ids=lambda p: p.name)
def test_a_refused_ikev2_negotiation_logs_no_keys_and_says_so(path):
    assert not LAB.parse_charon_log(path).ike_sas
    with pytest.raises(KeyFileError, match="no key material in this strongSwan log"):
        load_keylog_file(str(path))


def test_the_algorithms_come_from_the_selected_proposal():
    ring = load_keylog_file(str(KEYS_DIR / "ikev2-psk-aes-cbc-sha256.west.log.gz"))
    assert {(k.encryption, k.integrity) for k in ring.ikev2_keys} == {("aes-cbc", "hmac-sha2-256-128")}
    gcm = load_keylog_file(str(KEYS_DIR / "ikev2-aes-gcm.east.log.gz"))
    assert {(k.encryption, k.integrity, k.sk_ai) for k in gcm.ikev2_keys} == {("aes-gcm-16", "null", b"")}


@pytest.mark.parametrize("side", ["west", "east"])
def test_a_rekeyed_ike_sa_gets_its_own_keys_whichever_name_they_were_logged_under(side):
    """RFC 7296 2.18: three IKE SAs (the first, its rekey, the rekey's rekey). The peer that starts a
    rekey logs the new SA's keys under the old SA's <name|N> prefix; the origin says so."""
    path = KEYS_DIR / f"ikev2-ike-rekey.{side}.log.gz"
    ring = load_keylog_file(str(path))
    pairs = [(k.initiator_spi, k.responder_spi) for k in ring.ikev2_keys]
    assert len(pairs) == len(set(pairs)) == 3
    assert len({k.sk_d for k in ring.ikev2_keys}) == 3
    under_old = [k.origin for k in ring.ikev2_keys if "logged under" in k.origin]
    assert under_old, "the rekey initiator's new SA keys were logged under the old SA's prefix"
    assert all(k.stage == 0 for k in ring.ikev2_keys)


def _journal(text: str) -> str:
    """``journalctl -u strongswan`` text of charon-systemd: no thread or SA prefix, hex dump rows on
    indented continuation lines."""
    out = []
    for line in text.splitlines():
        match = re.match(r"^\S+ (\S+) \d+\[\w+\] (?:<[^>]*> )?(.*)$", line)
        if match is None:
            continue
        if re.match(r"^\s*\d+: ", match[2]):
            out.append(" " * 44 + match[2].strip())
        else:
            out.append(f"Dec 04 {match[1][:8]} moon charon-systemd[4242]: {match[2]}")
    return "\n".join(out)


def _syslog(text: str) -> str:
    """``/var/log/syslog`` lines: ``Dec  4 19:08:18 west charon: 14[IKE] <lab|1> ...``."""
    return "\n".join(
        re.sub(r"^\S+ (\d\d:\d\d:\d\d)\.\d+ ", r"Dec  4 \1 west charon: ", line) for line in text.splitlines()
    )


@pytest.mark.parametrize("name", ["ikev2-psk-aes-cbc-sha256", "ikev2-child-rekey-pfs", "ikev2-aes-gcm"])
def test_syslog_and_journal_shapes_give_the_same_ikev2_keys(name):
    text = gzip.decompress((KEYS_DIR / f"{name}.west.log.gz").read_bytes()).decode()
    reference = parse_charon_log(text, "file")
    assert reference.ikev2_keys
    for shaped in (_syslog(text), _journal(text)):
        ring = parse_charon_log(shaped, "other")
        assert _ike_entries(ring) == _ike_entries(reference)
    assert _child_entries(parse_charon_log(_syslog(text), "syslog")) == _child_entries(reference)


def _dump(thread: str, prefix: str, label: str, value: bytes) -> list[str]:
    rows = [f"09:00:00.100 {thread}[IKE] <{prefix}> {label} => {len(value)} bytes @ 0x55d0c0a0b0c0"]
    for offset in range(0, len(value), 16):
        chunk = " ".join(f"{b:02X}" for b in value[offset : offset + 16])
        rows.append(f"09:00:00.100 {thread}[IKE] <{prefix}> {offset:4d}: {chunk} ")
    return rows


def _stage(thread: str, prefix: str, fill: int) -> list[str]:
    lines = _dump(thread, prefix, "SKEYSEED", bytes([fill]) * 32)
    for number, label in enumerate(("Sk_d", "Sk_ai", "Sk_ar", "Sk_ei", "Sk_er", "Sk_pi", "Sk_pr")):
        lines += _dump(thread, prefix, f"{label} secret", bytes([fill + number + 1]) * 32)
    return lines


def test_successive_derivations_for_one_sa_are_key_stages_in_order():
    """RFC 9370: after IKE_SA_INIT and each IKE_INTERMEDIATE with an additional key exchange, charon
    derives SKEYSEED and SK_* again for the same SA; each block is a stage, none is a duplicate."""
    lines = [
        "09:00:00.100 09[MGR] checkout IKEv2 SA by message with SPIs 1122334455667788_i 0000000000000000_r",
        "09:00:00.100 09[MGR] created IKE_SA (unnamed)[1]",
        "09:00:00.100 09[CFG] <1> selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/"
        "CURVE_25519/KE1_ML_KEM_768",
        *_stage("09", "pq|1", 0x10),
        "09:00:00.101 09[MGR] <pq|1> checkin IKEv2 SA pq[1] with SPIs 1122334455667788_i 99aabbccddeeff00_r",
        "09:00:00.102 11[MGR] checkout IKEv2 SA by message with SPIs 1122334455667788_i 99aabbccddeeff00_r",
        "09:00:00.102 11[MGR] IKE_SA pq[1] successfully checked out",
        *_stage("11", "pq|1", 0x40),
        "09:00:00.103 11[MGR] <pq|1> checkin IKEv2 SA pq[1] with SPIs 1122334455667788_i 99aabbccddeeff00_r",
    ]
    ring = parse_charon_log("\n".join(lines) + "\n", "pq.log")
    assert [k.stage for k in ring.ikev2_keys] == [0, 1]
    assert [k.sk_d for k in ring.ikev2_keys] == [bytes([0x11]) * 32, bytes([0x41]) * 32]
    assert {(k.initiator_spi.hex(), k.responder_spi.hex()) for k in ring.ikev2_keys} == {
        ("1122334455667788", "99aabbccddeeff00")
    }
    assert "key stage 2" in ring.ikev2_keys[1].origin
