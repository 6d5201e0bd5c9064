"""strongSwan charon logs: every key the lab daemons logged is found and tied to its SA.

The lab key files (keys/<name>.toml) were written by captures/lab/extract_keys.py from the same logs
and checked against the captures with tshark; the parser must find the same values on its own.
"""

from __future__ import annotations

import gzip
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikedecode.keys.charon_log import looks_like_charon_log, parse_charon_log
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.loader import load_key_file, load_keylog_file

# captures whose west and east logs both hold keys (fail-unreachable / fail-ike-proposal derive none)
LOGGED = [
    "am-aes128-sha1-modp2048",
    "case-3des-sha1-modp768",
    "esp-aes128gcm16",
    "esp-rekey-delete",
    "esp-rekey-simultaneous",
    "mm-3des-md5-modp1024",
    "mm-aes128-sha1-modp2048",
    "mm-aes256-sha256-modp2048",
    "nat-t",
    "qm-pfs-modp2048",
    "qm-transport-refused",
]


def _log_text(keys_dir, name: str, side: str) -> str:
    return gzip.decompress((keys_dir / f"{name}.{side}.log.gz").read_bytes()).decode()


@pytest.mark.parametrize("name", LOGGED)
@pytest.mark.parametrize("side", ["west", "east"])
def test_phase1_keys_match_the_lab_key_file(name, side, keys_dir, lab_keys):
    ring = parse_charon_log(_log_text(keys_dir, name, side), f"{name}.{side}.log")
    expected = lab_keys(name)["ike_sa"]
    assert len(ring.phase1_keys) == len(expected) == 1
    got, want = ring.phase1_keys[0], expected[0]
    assert got.initiator_cookie.hex() == want["initiator_cookie"]
    assert got.responder_cookie.hex() == want["responder_cookie"]
    for field in ("skeyid", "skeyid_d", "skeyid_a", "skeyid_e", "encryption_key", "dh_secret"):
        assert getattr(got, field).hex() == want[field], field
    assert got.origin.startswith(f"{name}.{side}.log line ")


@pytest.mark.parametrize("name", LOGGED)
@pytest.mark.parametrize("side", ["west", "east"])
def test_every_child_sa_has_the_logged_keys_and_direction(name, side, keys_dir, lab_keys):
    text = _log_text(keys_dir, name, side)
    ring = parse_charon_log(text, "log")
    if (name, side) == ("qm-transport-refused", "east"):  # east never keyed the refused transport-mode SAs
        assert "initiator SA seed" not in text and ring.ipsec_sas == []
        return
    got = {
        (sa.spi, sa.encryption, sa.encryption_key.hex(), sa.integrity, sa.integrity_key.hex())
        for sa in ring.ipsec_sas
    }
    want = {
        (
            int(sa["spi"], 16),
            sa["encryption"],
            sa["encryption_key"],
            sa["integrity"],
            sa.get("integrity_key", ""),
        )
        for sa in lab_keys(name)["ipsec_sa"]
    }
    assert got == want
    # on the side whose view the key file's addresses are (the captured link), they agree too
    if name != "nat-t":
        addresses = {(sa.spi, sa.src, sa.dst) for sa in ring.ipsec_sas}
        assert addresses == {(int(s["spi"], 16), s["src"], s["dst"]) for s in lab_keys(name)["ipsec_sa"]}


def test_pfs_quick_mode_secret_is_scoped_to_its_cookie_and_message_id(keys_dir, lab_keys):
    keys = lab_keys("qm-pfs-modp2048")
    ring = parse_charon_log(_log_text(keys_dir, "qm-pfs-modp2048", "west"), "west.log")
    (pfs,) = ring.dh_secrets
    (want,) = [q for q in keys["quick_mode"] if "dh_secret" in q]
    assert pfs.value.hex() == want["dh_secret"]
    assert pfs.initiator_cookie.hex() == want["initiator_cookie"]
    assert pfs.message_id == int(want["message_id"], 16)


def test_gzip_is_read_transparently_and_the_origin_names_the_file(keys_dir):
    path = keys_dir / "mm-aes128-sha1-modp2048.west.log.gz"
    ring = load_keylog_file(str(path))
    assert len(ring.phase1_keys) == 1 and len(ring.ipsec_sas) == 2
    assert all(sa.origin.startswith(f"{path} line ") for sa in ring.ipsec_sas)
    assert "initiator keys" in " ".join(sa.origin for sa in ring.ipsec_sas)
    by_content = load_key_file(str(path))  # --keys recognises a log too
    assert [k.skeyid_e for k in by_content.phase1_keys] == [k.skeyid_e for k in ring.phase1_keys]


def _journal(text: str) -> str:
    """The same messages as ``journalctl -u strongswan`` shows charon-systemd's: no thread or SA
    prefix, a hex dump is one message whose rows are indented continuation lines."""
    out = []
    for line in text.splitlines():
        match = re.match(r"^\S+ (\S+) \d+\[\w+\] (?:<[^>]*> )?(.*)$", line)
        if match is None:
            continue
        body = match[2]
        if re.match(r"^\s*\d+: ", body):
            out.append(" " * 44 + body.strip())
        else:
            out.append(f"Nov 22 {match[1][:8]} moon charon-systemd[4242]: {body}")
    return "\n".join(out)


def _without_manager_lines_and_prefixes(text: str) -> str:
    """A filelog without ``ike_name`` and without ``mgr 2``: only natd_chunk ties keys to cookies."""
    lines = (re.sub(r"(\d+\[\w+\]) <[^>]*> ", r"\1 ", line) for line in text.splitlines())
    return "\n".join(line for line in lines if "[MGR]" not in line)


def _summary(ring):  # noqa: ANN001, ANN202
    return (
        sorted((k.initiator_cookie, k.responder_cookie, k.skeyid_e, k.dh_secret) for k in ring.phase1_keys),
        sorted((sa.spi, sa.encryption_key, sa.integrity_key) for sa in ring.ipsec_sas),
        sorted((d.value, d.message_id) for d in ring.dh_secrets),
    )


@pytest.mark.parametrize("name", ["qm-pfs-modp2048", "esp-rekey-simultaneous", "nat-t"])
def test_journal_text_and_prefixless_logs_give_the_same_keys(name, keys_dir):
    text = _log_text(keys_dir, name, "west")
    reference = _summary(parse_charon_log(text, "file"))
    journal = _journal(text)
    assert "charon-systemd[4242]: SKEYID => " in journal and looks_like_charon_log(journal)
    assert _summary(parse_charon_log(journal, "journal")) == reference
    assert _summary(parse_charon_log(_without_manager_lines_and_prefixes(text), "bare")) == reference


def test_syslog_lines_are_read():
    text = _log_text_from_lines(
        [
            "Nov 22 07:59:17 west charon: 11[MGR] checkout IKEv1 SA by message with SPIs "
            "bd9936526010462f_i d42e2d50bdf28488_r",
            "Nov 22 07:59:17 west charon: 11[MGR] IKE_SA lab[1] successfully checked out",
            "Nov 22 07:59:17 west charon: 11[IKE] <lab|1> SKEYID_e => 4 bytes @ 0x559d162a98f0",
            "Nov 22 07:59:17 west charon: 11[IKE] <lab|1>    0: 73 DA 01 3B                  s..;",
            "Nov 22 07:59:17 west charon: 11[IKE] <lab|1> encryption key Ka => 4 bytes @ 0x559d162a98f0",
            "Nov 22 07:59:17 west charon: 11[IKE] <lab|1>    0: 73 DA 01 3B                  s..;",
        ]
    )
    (keys,) = parse_charon_log(text, "syslog").phase1_keys
    assert keys.initiator_cookie.hex() == "bd9936526010462f" and keys.skeyid_e == bytes.fromhex("73da013b")


def _log_text_from_lines(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


IKEV2_LOG = """\
09:00:00.100 09[MGR] checkout IKEv2 SA by message with SPIs 1122334455667788_i 0000000000000000_r
09:00:00.100 09[MGR] created IKE_SA (unnamed)[1]
09:00:00.101 09[CFG] <1> selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
09:00:00.102 09[IKE] <1> Sk_ei secret => 32 bytes @ 0x55d0c0a0b0c0
09:00:00.102 09[IKE] <1>    0: 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F  ................
09:00:00.102 09[IKE] <1>   16: 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F  ................
09:00:00.102 09[IKE] <1> Sk_er secret => 32 bytes @ 0x55d0c0a0b0e0
09:00:00.102 09[IKE] <1>    0: 20 21 22 23 24 25 26 27 28 29 2A 2B 2C 2D 2E 2F   !"#$%&'()*+,-./
09:00:00.102 09[IKE] <1>   16: 30 31 32 33 34 35 36 37 38 39 3A 3B 3C 3D 3E 3F  0123456789:;<=>?
09:00:00.103 09[IKE] <1> Sk_ai secret => 32 bytes @ 0x55d0c0a0b100
09:00:00.103 09[IKE] <1>    0: 40 41 42 43 44 45 46 47 48 49 4A 4B 4C 4D 4E 4F  @ABCDEFGHIJKLMNO
09:00:00.103 09[IKE] <1>   16: 50 51 52 53 54 55 56 57 58 59 5A 5B 5C 5D 5E 5F  PQRSTUVWXYZ[\\]^_
09:00:00.103 09[IKE] <1> Sk_ar secret => 32 bytes @ 0x55d0c0a0b120
09:00:00.103 09[IKE] <1>    0: 60 61 62 63 64 65 66 67 68 69 6A 6B 6C 6D 6E 6F  `abcdefghijklmno
09:00:00.103 09[IKE] <1>   16: 70 71 72 73 74 75 76 77 78 79 7A 7B 7C 7D 7E 7F  pqrstuvwxyz{|}~.
09:00:00.104 09[MGR] <1> checkin IKEv2 SA (unnamed)[1] with SPIs 1122334455667788_i 99aabbccddeeff00_r
"""


def test_ikev2_sk_lines_are_kept_with_spis_and_algorithms():
    """Line shapes of strongSwan's keymat_v2.c (no IKEv2 lab capture exists yet)."""
    (sa,) = parse_charon_log(IKEV2_LOG, "v2.log").ikev2_keys
    assert (sa.initiator_spi.hex(), sa.responder_spi.hex()) == ("1122334455667788", "99aabbccddeeff00")
    assert (sa.encryption, sa.integrity) == ("aes-cbc", "hmac-sha2-256-128")
    assert sa.sk_ei == bytes(range(32)) and sa.sk_ar == bytes(range(96, 128))


def test_a_log_without_keys_is_an_error_naming_the_file(keys_dir):
    path = keys_dir / "fail-unreachable.west.log.gz"
    with pytest.raises(KeyFileError) as caught:
        load_keylog_file(str(path))
    assert str(caught.value).startswith(f"{path}: no key material")
    assert "ike = 4" in str(caught.value)


def test_unknown_algorithm_name_is_an_error_with_the_line():
    text = IKEV2_LOG.replace(
        "09[CFG] <1> selected proposal", "09[CHD] <1>   using ROT13_CBC for encryption\n2026 09[CFG] <1> x"
    )
    with pytest.raises(KeyFileError, match=r"^v2\.log:3: strongSwan encryption algorithm 'ROT13_CBC'"):
        parse_charon_log(text, "v2.log")


def test_a_dump_longer_than_its_header_says_is_an_error_with_the_line():
    text = IKEV2_LOG.replace("Sk_ar secret => 32 bytes", "Sk_ar secret => 20 bytes")
    with pytest.raises(KeyFileError, match=r"^v2\.log:15: hex dump 'Sk_ar secret' \(line 13\) has 32 bytes"):
        parse_charon_log(text, "v2.log")


SUBSYSTEM_LINE = re.compile(r"\d{2,3}\[(?:IKE|CHD|MGR|NET|CFG|ENC|DMN|KNL|LIB|JOB|ESP)\] ")


@given(
    st.lists(st.sampled_from(["0", "12", "٣", "²", "x", " ", "\n", "[", "[IKE] ", "[ESP]", "] "])).map(
        "".join
    )
)
def test_a_log_is_told_by_two_digits_before_a_subsystem_as_the_pattern_says(text):
    # looks_like_charon_log finds the subsystem first, then the digits before it: what the
    # pattern SUBSYSTEM_LINE matches anywhere in the text, Unicode digits (\d) included
    assert looks_like_charon_log(text) == bool(SUBSYSTEM_LINE.search(text))


def test_a_toml_key_file_is_not_a_charon_log():
    text = '[[ike_sa]]\ninitiator_cookie = "0011223344556677"\ndh_secret = "' + "ab" * 256 + '"\n'
    assert not looks_like_charon_log(text * 300)
    assert looks_like_charon_log(text * 300 + "Dec  5 01:02:03 13[IKE] <conn|1> established\n")
