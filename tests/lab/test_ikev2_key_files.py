"""The IKEv2 lab captures (captures/ikev2-*.pcap) against the strongSwan logs they were made with.

Independent of ikedecode: the logs are read with the lab's own helper (captures/lab/ikev2_keys.py) and
every claim is checked against the bytes on the wire with the RFC 7296 formulas, so a wrong or
mislabelled log parse or key file fails here before it can mislead the decoder's IKEv2 tests:
both peers logged the same SK_* for every IKE SA the capture has; SKEYSEED and SK_* follow from the
nonces on the wire and the logged g^ir (section 2.14), a rekeyed IKE SA's from the old SK_d and the
nonces inside the decrypted CREATE_CHILD_SA (section 2.18); every SK/SKF payload decrypts and
authenticates with the logged keys; child keys are prf+(SK_d, [g^ir] | Ni | Nr) (section 2.17) and
every ESP packet decrypts with them (RFC 4303, RFC 4106, RFC 7634).
"""

from __future__ import annotations

import gzip
import re
import socket
import tomllib
from pathlib import Path

import pytest

from tests.lab.ikev2_wire import (
    CAPTURES,
    CREATE_CHILD_SA,
    FLAG_INITIATOR,
    FLAG_RESPONSE,
    IDS,
    IKE_SA_INIT,
    KEYS,
    NO_CHILD,
    PAYLOAD_NONCE,
    PAYLOAD_SA,
    PLUTO_WEST,
    PROJECT_ROOT,
    PROTOCOL_IKE,
    esp_packets,
    init_request,
    inner_payloads,
    keyed_spis,
    load,
    open_esp,
    open_sk,
    payloads,
    prf,
    prf_of,
    prf_plus,
    split_sk,
)


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_capture_has_both_logs_a_key_file_and_a_run_record(capture: Path) -> None:
    for side in ("west", "east"):
        if capture.stem in PLUTO_WEST and side == "west":  # libreswan's own log: no SK_*, kept for the record
            assert (KEYS / f"{capture.stem}.west.pluto.log.gz").is_file()
        else:
            assert (KEYS / f"{capture.stem}.{side}.log.gz").is_file()
    keys = tomllib.loads((KEYS / f"{capture.stem}.toml").read_text())
    assert set(keys) <= {"psk", "ike_sa"}
    run = PROJECT_ROOT / "captures" / "lab" / "runs" / capture.stem
    assert (run / "east.swanctl.conf").is_file() and (run / "verify.md").is_file()
    assert capture.stat().st_size < 200_000


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_both_logs_hold_every_sk_for_every_ike_sa_of_the_capture_and_agree(capture: Path) -> None:
    lab = load(capture)
    expected = keyed_spis(lab)
    if capture.stem == "ikev2-no-proposal":
        assert not expected and not any(log.ike_sas for log in lab.logs.values())
        return
    assert expected
    for side, log in lab.logs.items():
        by_spis = log.by_spis()
        assert expected <= set(by_spis), (side, expected - set(by_spis))
        for spis in expected:
            ike = by_spis[spis]
            hash_size = prf_of(ike)().digest_size
            assert len(ike.skeyseed) == len(ike.sk_d) == len(ike.sk_pi) == len(ike.sk_pr) == hash_size
            assert ike.sk_ei != ike.sk_er and len(ike.sk_ei) == len(ike.sk_er) >= 16
            assert ike.aead or (len(ike.sk_ai) == len(ike.sk_ar) >= 16 and ike.sk_ai != ike.sk_ar)
    if capture.stem in PLUTO_WEST:
        return
    west, east = lab.logs["west"].by_spis(), lab.logs["east"].by_spis()
    for spis in expected:
        assert west[spis].keys == east[spis].keys, spis


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_initial_ike_sa_keys_follow_rfc7296_from_wire_nonces_and_logged_g_ir(capture: Path) -> None:
    lab = load(capture)
    responses = [m for m in lab.messages if m.exchange == IKE_SA_INIT and m.flags & FLAG_RESPONSE]
    checked = 0
    for response in responses:
        ike = lab.ike_sas().get(response.spis)
        if ike is None:
            continue
        request = init_request(lab.messages, response)
        nonce_i = next(b for k, _o, b in payloads(request.data[16], request.data, 28) if k == PAYLOAD_NONCE)
        nonce_r = next(b for k, _o, b in payloads(response.data[16], response.data, 28) if k == PAYLOAD_NONCE)
        hash_function = prf_of(ike)
        # RFC 7296 section 2.14: SKEYSEED = prf(Ni | Nr, g^ir); SK_* = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
        skeyseed = prf(hash_function, nonce_i + nonce_r, ike.dh_secret)
        assert skeyseed == ike.skeyseed
        total = sum(len(v) for k, v in ike.keys.items() if k.startswith("sk_"))
        stream = prf_plus(hash_function, skeyseed, nonce_i + nonce_r + response.spi_i + response.spi_r, total)
        assert split_sk(ike, stream) == {k: v for k, v in ike.keys.items() if k.startswith("sk_")} | (
            {"sk_ai": b"", "sk_ar": b""} if ike.aead else {}
        )
        for child in (c for c in ike.children if c.exchange == IKE_AUTH_NAME):
            assert child.keys["seed"] == nonce_i + nonce_r  # RFC 7296 2.17: first child, no PFS
        checked += 1
    expected = {"ikev2-no-proposal": 0, "ikev2-libreswan": 3}.get(capture.stem, 1)
    assert checked == expected  # libreswan: pluto retried twice after failing to install the child


IKE_AUTH_NAME = "IKE_AUTH"


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_every_encrypted_message_decrypts_and_authenticates_with_the_logged_keys(capture: Path) -> None:
    lab = load(capture)
    ike_sas = lab.ike_sas()
    opened = 0
    for message in lab.messages:
        if message.spis not in ike_sas:
            continue
        result = open_sk(ike_sas[message.spis], message)
        if result is not None:
            first, plain = result
            assert first == 0 or payloads(first, plain, 0), f"frame {message.frame}"
            opened += 1
    assert opened == sum(1 for m in lab.messages if m.spis in ike_sas and m.exchange != IKE_SA_INIT)


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_rekeyed_ike_sa_keys_follow_rfc7296_2_18_from_the_old_sk_d(capture: Path) -> None:
    lab = load(capture)
    ike_sas = lab.ike_sas()
    exchanges = [m for m in lab.messages if m.exchange == CREATE_CHILD_SA and m.spis in ike_sas]
    rekeys = 0
    for request in (m for m in exchanges if not m.flags & FLAG_RESPONSE):
        response = next(
            m
            for m in exchanges
            if m.flags & FLAG_RESPONSE
            and m.message_id == request.message_id
            and m.spis == request.spis
            and m.frame > request.frame
            and bool(m.flags & FLAG_INITIATOR) != bool(request.flags & FLAG_INITIATOR)
        )
        asked, answered = inner_payloads(lab, request), inner_payloads(lab, response)
        sa_i = asked[PAYLOAD_SA][0]
        if sa_i[5] != PROTOCOL_IKE:  # proposal's protocol ID: a child SA, not an IKE SA rekey
            continue
        sa_r = answered[PAYLOAD_SA][0]
        new_spi_i, new_spi_r = sa_i[8 : 8 + sa_i[6]], sa_r[8 : 8 + sa_r[6]]
        new = ike_sas[(new_spi_i.hex(), new_spi_r.hex())]
        old = ike_sas[request.spis]
        nonces = asked[PAYLOAD_NONCE][0] + answered[PAYLOAD_NONCE][0]
        hash_function = prf_of(new)
        # RFC 7296 section 2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
        skeyseed = prf(hash_function, old.sk_d, new.dh_secret + nonces)
        assert skeyseed == new.skeyseed
        total = sum(len(v) for k, v in new.keys.items() if k.startswith("sk_"))
        stream = prf_plus(hash_function, skeyseed, nonces + new_spi_i + new_spi_r, total)
        assert split_sk(new, stream) == {k: v for k, v in new.keys.items() if k.startswith("sk_")}
        for log in lab.logs.values():  # each log ties the new SA to the SA its CREATE_CHILD_SA ran on
            by_number = {ike.number: ike for ike in log.ike_sas}
            logged = log.by_spis()[(new_spi_i.hex(), new_spi_r.hex())]
            assert logged.rekeyed_from is not None
            assert (
                by_number[logged.rekeyed_from].spi_i,
                by_number[logged.rekeyed_from].spi_r,
            ) == request.spis
        rekeys += 1
    assert rekeys == (2 if capture.stem == "ikev2-ike-rekey" else 0)


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_child_keys_are_prf_plus_of_sk_d_over_the_logged_seed(capture: Path) -> None:
    lab = load(capture)
    children = 0
    for log in lab.logs.values():
        for ike in log.ike_sas:
            for child in ike.children:
                sizes = [
                    len(child.keys.get(k, b""))
                    for k in ("encryption_i", "integrity_i", "encryption_r", "integrity_r")
                ]
                stream = prf_plus(prf_of(ike), ike.sk_d, child.keys["seed"], sum(sizes))
                # RFC 7296 section 2.17: initiator-to-responder keys first, encryption before integrity
                expected, offset = [], 0
                for size in sizes:
                    expected.append(stream[offset : offset + size])
                    offset += size
                assert expected == [
                    child.keys.get(k, b"")
                    for k in ("encryption_i", "integrity_i", "encryption_r", "integrity_r")
                ]
                if child.dh_secret:  # PFS: KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)
                    assert child.exchange == "CREATE_CHILD_SA"
                    assert child.keys["seed"].startswith(child.dh_secret)
                children += 1
    has_child = capture.stem not in NO_CHILD
    assert bool(children) == has_child


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_every_esp_packet_decrypts_with_the_logged_child_keys(capture: Path) -> None:
    lab = load(capture)
    by_spi = {sa.spi: sa for log in lab.logs.values() for sa in log.esp_sas()}
    packets = esp_packets(capture)
    for number, packet in packets:
        inner = open_esp(by_spi[packet[:4].hex()], packet)
        assert inner[9] == 1, f"frame {number}: ICMP inside"
        assert socket.inet_ntoa(inner[12:16]).startswith("10.") and socket.inet_ntoa(inner[16:20]).startswith(
            "10."
        )
    has_esp = capture.stem not in NO_CHILD | PLUTO_WEST
    assert (len(packets) >= 16) == has_esp


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_key_file_holds_the_logged_g_ir_by_spis_and_the_psks(capture: Path) -> None:
    lab = load(capture)
    keys = tomllib.loads((KEYS / f"{capture.stem}.toml").read_text())
    entries = {
        (e["initiator_cookie"], e["responder_cookie"]): bytes.fromhex(e["dh_secret"])
        for e in keys.get("ike_sa", [])
    }
    assert entries == {spis: ike.dh_secret for spis, ike in lab.ike_sas().items()}
    run = PROJECT_ROOT / "captures" / "lab" / "runs" / capture.stem
    configs = "".join(p.read_text() for p in sorted(run.glob("*.conf")))
    if "auth = psk" in configs:
        assert keys["psk"] and all(
            f'"{p["secret"]}"'
            in configs
            + (PROJECT_ROOT / "captures" / "lab" / "runs" / capture.stem / "east.swanctl.conf").read_text()
            for p in keys["psk"]
        )


def pluto_keymats(path: Path) -> list[tuple[bytes, bytes]]:
    """libreswan 4.10 IKEv2 child keys: ``| our  keymat`` / ``| peer keymat`` followed by hex rows."""
    dumps: list[tuple[str, bytearray]] = []
    with gzip.open(path, "rt", errors="replace") as handle:
        for line in handle:
            label = re.search(r"\| (our  keymat|peer keymat)$", line.rstrip("\n"))
            row = re.search(r"\|   ((?:[0-9a-f]{2} {1,2})+)", line)
            if label:
                dumps.append((label[1], bytearray()))
            elif row and dumps and len(line) > 40 and "keymat" not in line:
                dumps[-1][1].extend(bytes.fromhex(row[1].replace(" ", "")))
            elif dumps and dumps[-1][1]:
                dumps.append(("", bytearray()))  # a dump ended
    pairs = [d for d in dumps if d[0]]
    return [(bytes(a[1]), bytes(b[1])) for a, b in zip(pairs[::2], pairs[1::2], strict=True)]


def test_libreswan_logs_each_child_keymat_as_east_derived_it() -> None:
    """pluto's "our keymat" is the responder-to-initiator encryption | integrity key (its inbound SA),
    "peer keymat" the initiator-to-responder one: RFC 7296 2.17's two halves, as east's charon logged them."""
    lab = load(PROJECT_ROOT / "captures" / "ikev2-libreswan.pcap")
    children = [child for ike in lab.logs["east"].ike_sas for child in ike.children]
    keymats = pluto_keymats(KEYS / "ikev2-libreswan.west.pluto.log.gz")
    assert len(keymats) == len(children) == 3
    for (ours, peers), child in zip(keymats, children, strict=True):
        assert ours == child.keys["encryption_r"] + child.keys["integrity_r"]
        assert peers == child.keys["encryption_i"] + child.keys["integrity_i"]
