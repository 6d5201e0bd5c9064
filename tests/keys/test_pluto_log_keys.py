"""libreswan pluto logs (``plutodebug="all crypt private"``) as a key source.

captures/libreswan-pluto.pcap: libreswan 4.10 (west) against strongSwan (east), made by
captures/lab/make-captures.sh (scenario libreswan-pluto); pluto's own log is
keys/libreswan-pluto.west.pluto.log.gz, east's charon log keys/libreswan-pluto.east.log.gz.
"""

from __future__ import annotations

import gzip

import pytest

from ikedecode.capture import open_capture
from ikedecode.ike.records import Protection
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import DhSecret, KeyRing
from ikedecode.keys.loader import load_key_file, load_keylog_file
from ikedecode.keys.pluto_log import looks_like_pluto_log, parse_pluto_log
from ikedecode.pipeline import analyze

NAME = "libreswan-pluto"


@pytest.fixture
def pluto_log(keys_dir):  # noqa: ANN201
    return keys_dir / f"{NAME}.west.pluto.log.gz"


def decode(captures_dir, ring: KeyRing):  # noqa: ANN001, ANN201
    return analyze(open_capture(captures_dir / f"{NAME}.pcap"), ring)


def test_pluto_log_gives_the_psk_and_both_directions_keymat(pluto_log, lab_keys):
    ring = load_keylog_file(str(pluto_log))
    assert [k.secret.decode() for k in ring.psks] == [lab_keys(NAME)["psk"][0]["secret"]]
    assert ring.psks[0].origin.startswith(f"{pluto_log} line ")
    assert sorted((sa.src, sa.dst, sa.encryption, sa.integrity) for sa in ring.ipsec_sas) == [
        ("192.0.2.1", "192.0.2.2", "aes-cbc", "hmac-sha1-96"),
        ("192.0.2.2", "192.0.2.1", "aes-cbc", "hmac-sha1-96"),
    ]
    assert {len(sa.encryption_key) for sa in ring.ipsec_sas} == {16}
    assert {len(sa.integrity_key) for sa in ring.ipsec_sas} == {20}


def test_pluto_keymat_equals_what_ikedecode_derives_from_the_quick_mode(pluto_log, keys_dir, captures_dir):
    """East's charon log gives SKEYID_d; ikedecode derives KEYMAT from QM1/QM2 (no PFS) itself."""
    pluto = load_keylog_file(str(pluto_log))
    derived = decode(captures_dir, load_keylog_file(str(keys_dir / f"{NAME}.east.log.gz"))).ipsec_sas
    assert len(derived) == 2
    as_keys = sorted((sa.spi, sa.encryption_key, sa.integrity_key) for sa in derived)
    assert sorted((sa.spi, sa.encryption_key, sa.integrity_key) for sa in pluto.ipsec_sas) == as_keys


def test_pluto_psk_with_the_peers_dh_secret_verifies_every_hash(pluto_log, captures_dir, lab_keys):
    ike = lab_keys(NAME)["ike_sa"][0]
    ring = load_keylog_file(str(pluto_log))
    ring.dh_secrets.append(DhSecret(bytes.fromhex(ike["dh_secret"]), "--dh-secret #1"))
    report = decode(captures_dir, ring)
    (sa,) = report.ike_sas
    encrypted = [m for m in sa.messages if m.encrypted]
    assert len(encrypted) == 15 and all(m.protection is Protection.VERIFIED for m in encrypted)
    assert sa.keys.psk_origin.startswith(str(pluto_log)) and sa.keys.skeyid_e.hex() == ike["skeyid_e"]
    # the quick mode keys the two SAs of the log (same SPIs, same keys: one SA each, merged)
    assert [sa.origin.count("pluto.log") for sa in report.ipsec_sas] == [1, 1]


def test_pluto_log_alone_cannot_open_the_ike_sa(pluto_log, captures_dir):
    report = decode(captures_dir, load_keylog_file(str(pluto_log)))
    encrypted = [m for m in report.ike_sas[0].messages if m.encrypted]
    assert encrypted and not any(m.decrypted for m in encrypted)


def test_pluto_log_is_recognised_by_content_by_keys(pluto_log):
    text = gzip.decompress(pluto_log.read_bytes()).decode()
    assert looks_like_pluto_log(text)
    assert len(load_key_file(str(pluto_log)).ipsec_sas) == 2


HEADER = "Nov 22 08:20:30.108893: Starting Pluto (Libreswan Version 4.10 ...)\n"
KEYMAT_LOG = HEADER + (
    "Nov 22 08:20:50.319332: | protocol: 0x03\n"
    "Nov 22 08:20:50.319334: | SPI\n"
    "Nov 22 08:20:50.319336: |   a0 11 d5 5d                                          ...]\n"
    "Nov 22 08:20:50.319444: | NSS.ikev1_section_5_keymat() returns:\n"
    "Nov 22 08:20:50.319446: |   34 04 8d 1d  7b cc 31 11  bf 43 68 0c  12 6e ea ee   4...{.1..Ch..n..\n"
    "Nov 22 08:20:50.319448: |   77 6c 25 ff  37 c1 51 6b  0d f2 84 ca  c7 83 64 d7   wl%.7.Qk......d.\n"
    "Nov 22 08:20:50.319450: |   66 40 f6 37                                          f@.7\n"
    "Nov 22 08:20:50.319544: | ESP KEYMAT\n"
    "Nov 22 08:20:50.319546: |   inbound:\n"
    "Nov 22 08:20:50.319548: |   34 04 8d 1d  7b cc 31 11  bf 43 68 0c  12 6e ea ee   4...{.1..Ch..n..\n"
    "Nov 22 08:20:50.319550: |   77 6c 25 ff  37 c1 51 6b  0d f2 84 ca  c7 83 64 d7   wl%.7.Qk......d.\n"
    "Nov 22 08:20:50.319551: |   66 40 f6 37                                          f@.7\n"
    "Nov 22 08:20:50.3196: | kernel: looking for alg with encrypt: AES_CBC keylen: 128 integ: HMAC_SHA1_96\n"
)


def test_line_shapes_of_libreswan_4_give_one_inbound_sa():
    (sa,) = parse_pluto_log(KEYMAT_LOG, "pluto.log").ipsec_sas
    assert (sa.spi, sa.encryption, sa.integrity) == (0xA011D55D, "aes-cbc", "hmac-sha1-96")
    assert sa.encryption_key.hex() == "34048d1d7bcc3111bf43680c126eeaee"
    assert sa.integrity_key.hex() == "776c25ff37c1516b0df284cac78364d76640f637"


def test_unknown_algorithm_is_an_error_naming_file_and_line():
    text = KEYMAT_LOG.replace("encrypt: AES_CBC", "encrypt: SERPENT_CBC")
    with pytest.raises(KeyFileError, match=r"^pluto\.log:5: libreswan encryption algorithm 'SERPENT_CBC'"):
        parse_pluto_log(text, "pluto.log")


def test_a_pluto_log_without_secrets_is_an_error():
    with pytest.raises(KeyFileError, match=r'^pluto\.log: no key material .*plutodebug="all crypt private"'):
        parse_pluto_log(HEADER + "Nov 22 08:20:30.2: | listening for IKE messages\n", "pluto.log")
