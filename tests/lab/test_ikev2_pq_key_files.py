"""The post-quantum IKEv2 lab captures (captures/ikev2-pq-*.pcap, strongSwan 6) against their charon logs.

What a user would have is the key file keys/NAME.toml: the PSK, each IKE SA's classic g^ir and the
ML-KEM shared secrets SK(1)..SK(n) by SPIs (and the RFC 8784 PPK).  The logs (keys/NAME.*.log.gz, read
with captures/lab/ikev2_keys.py) hold what charon derived at every key stage.  Checked here with
ikedecode's own key derivation and SK opening (ikedecode/ike/v2/keymat.py, protection.py):

* both peers logged the same keys at every stage, and an IKE SA made by IKE_SA_INIT has one stage per
  key exchange (1 + the number of ADDKE transforms);
* stage 0 is RFC 7296 section 2.14 from the wire nonces and g^ir; stage n is RFC 9370 section 2.2.2,
  SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr), from the key file's SK(n); the PPK step is RFC 8784
  section 3 (SK_d' = prf+(PPK, SK_d), same for SK_pi and SK_pr);
* an IKE SA rekeyed with IKE_FOLLOWUP_KE has SKEYSEED = prf(SK_d(old), g^ir | Ni | Nr | SK(1)..SK(n));
* every SK / SKF payload opens with its ICV under the stage in force when it was sent: an
  IKE_INTERMEDIATE exchange with message ID k under stage k-1, everything after under the last stage;
* the IKE_INTERMEDIATE messages carry ML-KEM KE payloads of the sizes FIPS 203 gives;
* child KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr [| SK(1)..]) (RFC 9370 section 2.2.4) is what charon
  installed, and every ESP packet (plain IP protocol 50 or UDP-encapsulated) decrypts with it.
"""

from __future__ import annotations

import functools
import struct
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import dpkt  # type: ignore[import-untyped]
import pytest

from ikedecode.ike.v2.keymat import (
    Ikev2Keys,
    ike_sa_keys_from_skeyseed,
    initial_skeyseed,
    stage_skeyseed,
)
from ikedecode.ike.v2.prf import prf, prf_plus
from ikedecode.ike.v2.protection import open_sk, open_skf, reassemble_fragments
from tests.lab.ikev2_wire import Message, init_request, open_esp, payloads

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT / "captures" / "lab"))
from ikev2_keys import CharonLog, IkeSa, parse_charon_log  # noqa: E402

CAPTURES = sorted((PROJECT_ROOT / "captures").glob("ikev2-pq-*.pcap"))
KEYS = PROJECT_ROOT / "keys"
IDS = [path.stem for path in CAPTURES]

# RFC 7296 section 3.1, RFC 9242 section 3, RFC 9370 section 3: exchange types
IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA = 34, 35, 36
IKE_INTERMEDIATE, IKE_FOLLOWUP_KE = 43, 44
PAYLOAD_SA, PAYLOAD_KE, PAYLOAD_NONCE, PAYLOAD_SK, PAYLOAD_SKF = 33, 34, 40, 46, 53
FLAG_INITIATOR, FLAG_RESPONSE = 0x08, 0x20
PROTOCOL_IKE = 1
# strongSwan's proposal words -> IANA transform IDs (RFC 7296 section 3.3.2, RFC 5282, RFC 7634)
ENCR = {"AES_CBC_256": (12, 256), "AES_GCM_16_256": (20, 256), "CHACHA20_POLY1305": (28, None)}
PRF = {"PRF_HMAC_SHA2_256": 5, "PRF_HMAC_SHA2_384": 6}
INTEG = {"HMAC_SHA2_256_128": 12, "HMAC_SHA2_384_192": 13}
# RFC 9370 / FIPS 203: ML-KEM transform IDs -> (encapsulation key, ciphertext) sizes
ML_KEM = {35: (800, 768), 36: (1184, 1088), 37: (1568, 1568)}
ML_KEM_SECRET = 32  # FIPS 203: every ML-KEM shared secret is 32 bytes


@dataclass(frozen=True)
class Transforms:
    prf_id: int
    encr_id: int
    encr_key_bits: int | None
    integ_id: int | None


def transforms(ike: IkeSa) -> Transforms:
    parts = ike.proposal.removeprefix("IKE:").split("/")
    encr_id, bits = next(ENCR[p] for p in parts if p in ENCR)
    return Transforms(
        next(PRF[p] for p in parts if p in PRF),
        encr_id,
        bits,
        next((INTEG[p] for p in parts if p in INTEG), None),
    )


def derived_keys(
    skeyseed: bytes, ni: bytes, nr: bytes, spis: tuple[bytes, bytes], t: Transforms
) -> Ikev2Keys:
    return ike_sa_keys_from_skeyseed(
        skeyseed, ni, nr, *spis, prf_id=t.prf_id, encr_id=t.encr_id, encr_key_bits=t.encr_key_bits,
        integ_id=t.integ_id,
    )  # fmt: skip


def as_logged(keys: Ikev2Keys) -> dict[str, bytes]:
    names = ("skeyseed", "sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr")
    return {name: getattr(keys, name) for name in names if getattr(keys, name)}


def logged_sk(stage: dict[str, bytes]) -> dict[str, bytes]:
    return {name: value for name, value in stage.items() if name == "skeyseed" or name.startswith("sk_")}


def ip_payloads(pcap: Path) -> list[tuple[int, int, bytes]]:
    """(frame, IP protocol, IP payload) of every IPv4 packet."""
    out = []
    with open(pcap, "rb") as handle:
        for number, (_timestamp, frame) in enumerate(dpkt.pcap.Reader(handle), start=1):
            ip = dpkt.ethernet.Ethernet(frame).data
            if isinstance(ip, dpkt.ip.IP):
                out.append((number, ip.p, bytes(ip.data) if ip.p != 17 else bytes(ip.data)))
    return out


def ike_messages(pcap: Path) -> list[Message]:
    messages = []
    for number, protocol, data in ip_payloads(pcap):
        if protocol != 17:
            continue
        sport, dport = struct.unpack("!HH", data[:4])
        data = data[8:]
        if 4500 in (sport, dport):
            if data[:4] != b"\0\0\0\0":
                continue  # ESP in UDP or a keepalive
            data = data[4:]
        if len(data) < 28 or data[17] != 0x20:
            continue
        exchange, flags, message_id = data[18], data[19], struct.unpack("!I", data[20:24])[0]
        messages.append(Message(number, data[:8], data[8:16], exchange, flags, message_id, data))
    return messages


def esp_packets(pcap: Path) -> list[tuple[int, bytes]]:
    out = []
    for number, protocol, data in ip_payloads(pcap):
        if protocol == 50:
            out.append((number, data))
        elif protocol == 17:
            sport, dport = struct.unpack("!HH", data[:4])
            if 4500 in (sport, dport) and len(data) > 16 and data[8:12] != b"\0\0\0\0":
                out.append((number, data[8:]))
    return out


@dataclass
class Lab:
    name: str
    logs: dict[str, CharonLog]
    messages: list[Message]
    keys: dict

    def ike_sas(self) -> dict[tuple[str, str], IkeSa]:
        return {spis: ike for log in self.logs.values() for spis, ike in log.by_spis().items()}

    def key_entries(self) -> dict[tuple[str, str], dict]:
        return {(e["initiator_cookie"], e["responder_cookie"]): e for e in self.keys.get("ike_sa", [])}


@functools.cache
def load(name: str) -> Lab:
    logs = {side: parse_charon_log(KEYS / f"{name}.{side}.log.gz") for side in ("west", "east")}
    keys = tomllib.loads((KEYS / f"{name}.toml").read_text())
    return Lab(name, logs, ike_messages(PROJECT_ROOT / "captures" / f"{name}.pcap"), keys)


def stage_of(ike: IkeSa, message: Message) -> dict[str, bytes]:
    """The key stage that protects MESSAGE: RFC 9242 section 3.2 (IKE_INTERMEDIATE with message ID k
    under the keys of stage k-1), RFC 9370 section 2.2.2 (later exchanges under the last stage)."""
    stages = ike.key_stages
    if message.exchange == IKE_INTERMEDIATE:
        return stages[message.message_id - 1]
    return ike.keys


def open_message(ike: IkeSa, message: Message) -> tuple[int, bytes] | None:
    """(first inner payload, plaintext) of the SK payload or of one SKF fragment (None: no SK/SKF)."""
    chain = payloads(message.data[16], message.data, 28)
    kind, offset, _body = chain[-1]
    if kind not in (PAYLOAD_SK, PAYLOAD_SKF):
        return None
    keys, t = stage_of(ike, message), transforms(ike)
    sender = "i" if message.flags & FLAG_INITIATOR else "r"
    opener = open_skf if kind == PAYLOAD_SKF else open_sk
    opened = opener(
        message.data, offset, encr_id=t.encr_id, sk_e=keys["sk_e" + sender], integ_id=t.integ_id,
        sk_a=keys.get("sk_a" + sender, b""),
    )  # fmt: skip
    assert opened.failure is None and opened.integrity_verified, (message.frame, opened.detail)
    return opened.next_payload, opened.plaintext  # of an SKF: this fragment's part (whole_plaintexts joins)


def whole_plaintexts(lab: Lab) -> list[tuple[Message, int, bytes]]:
    """Every encrypted message opened, RFC 7383 fragments of one message joined."""
    ike_sas = lab.ike_sas()
    out: list[tuple[Message, int, bytes]] = []
    fragments: dict[tuple, tuple[Message, dict]] = {}
    for message in lab.messages:
        if message.spis not in ike_sas:
            continue
        chain = payloads(message.data[16], message.data, 28)
        kind, offset, _ = chain[-1]
        if kind == PAYLOAD_SKF:
            keys, t = stage_of(ike_sas[message.spis], message), transforms(ike_sas[message.spis])
            sender = "i" if message.flags & FLAG_INITIATOR else "r"
            opened = open_skf(
                message.data, offset, encr_id=t.encr_id, sk_e=keys["sk_e" + sender], integ_id=t.integ_id,
                sk_a=keys.get("sk_a" + sender, b""),
            )  # fmt: skip
            assert opened.failure is None and opened.integrity_verified, (message.frame, opened.detail)
            key = (message.spis, message.exchange, message.flags & FLAG_RESPONSE, message.message_id)
            fragments.setdefault(key, (message, {}))[1][opened.fragment_number] = opened
            joined = reassemble_fragments(fragments[key][1].values())
            if joined.complete:
                out.append((fragments.pop(key)[0], joined.next_payload, joined.plaintext))
        elif kind == PAYLOAD_SK:
            opened_sk = open_message(ike_sas[message.spis], message)
            assert opened_sk is not None
            out.append((message, *opened_sk))
    return out


def inner(first: int, plain: bytes) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for kind, _offset, body in payloads(first, plain, 0):
        out.setdefault(kind, []).append(body)
    return out


def init_nonces(lab: Lab, spis: tuple[str, str]) -> tuple[bytes, bytes] | None:
    responses = [
        m for m in lab.messages if m.exchange == IKE_SA_INIT and m.flags & FLAG_RESPONSE and m.spis == spis
    ]
    if not responses:
        return None
    response = responses[-1]
    request = init_request(lab.messages, response)

    def nonce(m: Message) -> bytes:
        return next(b for k, _o, b in payloads(m.data[16], m.data, 28) if k == PAYLOAD_NONCE)

    return nonce(request), nonce(response)


# no keys at all: the responder refuses the proposal / never sees the fragmented IKE_SA_INIT request
NO_SA = {"ikev2-pq-addke-unsupported", "ikev2-pq-init-fragments-lost"}
# a single key stage: ADDKE1 offered as ML-KEM-768 or NONE and NONE taken / ML-KEM-768 as IKE_SA_INIT's KE
NO_ADDKE = {"ikev2-pq-addke-optional", "ikev2-pq-mlkem-init"}
PPK_CAPTURES = {"ikev2-pq-ppk": True, "ikev2-pq-ppk-fallback": False}  # name -> PPK applied
# RFC 7296 section 3.3.2 transform type 4 (KE), RFC 9370 section 2.2.1 types 6..12 (ADDKE1..7)
TRANSFORM_KE, TRANSFORM_ADDKE1 = 4, 6
# RFC 8784 section 7: notify message types
USE_PPK, PPK_IDENTITY, NO_PPK_AUTH = 16435, 16436, 16437


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_capture_has_both_logs_a_key_file_and_a_run_record(capture: Path) -> None:
    for side in ("west", "east"):
        assert (KEYS / f"{capture.stem}.{side}.log.gz").is_file()
    keys = tomllib.loads((KEYS / f"{capture.stem}.toml").read_text())
    assert set(keys) <= {"psk", "ike_sa"}  # tables ikedecode's key-file reader knows
    run = PROJECT_ROOT / "captures" / "lab" / "runs" / capture.stem
    assert (run / "east.swanctl.conf").is_file() and (run / "scenario.txt").is_file()
    assert "strongSwan 6." in (run / "scenario.txt").read_text()
    assert capture.stat().st_size < 200_000


@pytest.mark.parametrize("capture", CAPTURES, ids=IDS)
def test_both_peers_logged_every_key_stage_of_every_ike_sa_and_agree(capture: Path) -> None:
    lab = load(capture.stem)
    on_wire = {
        m.spis for m in lab.messages if payloads(m.data[16], m.data, 28)[-1][0] in (PAYLOAD_SK, PAYLOAD_SKF)
    }
    if capture.stem in NO_SA:
        assert not on_wire and not any(log.ike_sas for log in lab.logs.values())
        return
    assert on_wire
    west, east = lab.logs["west"].by_spis(), lab.logs["east"].by_spis()
    assert on_wire <= set(west) and on_wire <= set(east)
    for spis in on_wire:
        ike = west[spis]
        assert ike.stages == east[spis].stages, spis
        assert len(ike.key_stages) == ike.expected_stages == east[spis].expected_stages, (spis, ike.proposal)
        for stage in ike.key_stages:
            assert stage["skeyseed"] and stage["sk_d"] and stage["sk_ei"] and stage["sk_pr"]
        assert (ike.additional_ke_count == 0) == (capture.stem in NO_ADDKE)


@pytest.mark.parametrize("capture", [c for c in CAPTURES if c.stem not in NO_SA], ids=lambda c: c.stem)
def test_every_stage_follows_rfc9370_from_wire_nonces_g_ir_and_the_key_files_ml_kem_secrets(
    capture: Path,
) -> None:
    lab = load(capture.stem)
    entries = lab.key_entries()
    checked = 0
    for spis, ike in lab.ike_sas().items():
        nonces = init_nonces(lab, spis)
        if nonces is None:
            continue  # made by a rekey: see the next test
        ni, nr = nonces
        t = transforms(ike)
        entry = entries[spis]
        secrets = [bytes.fromhex(s) for s in entry.get("additional_secrets", [])]
        assert len(secrets) == ike.additional_ke_count and all(len(s) == ML_KEM_SECRET for s in secrets)
        wire_spis = (bytes.fromhex(spis[0]), bytes.fromhex(spis[1]))
        # stage 0, RFC 7296 section 2.14
        keys = derived_keys(
            initial_skeyseed(t.prf_id, bytes.fromhex(entry["dh_secret"]), ni, nr), ni, nr, wire_spis, t
        )
        stages = ike.key_stages
        assert as_logged(keys) == logged_sk(stages[0])
        for number, secret in enumerate(secrets, start=1):
            # RFC 9370 section 2.2.2: SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr)
            keys = derived_keys(stage_skeyseed(t.prf_id, keys.sk_d, secret, ni, nr), ni, nr, wire_spis, t)
            assert as_logged(keys) == logged_sk(stages[number]), (spis, number)
        assert bool(ike.ppk_stage) == bool(entry.get("ppk_applied", "ppk" in entry))
        if ike.ppk_stage:  # RFC 8784 section 3: SK_d' = prf+(PPK, SK_d), SK_pi', SK_pr' alike
            ppk = bytes.fromhex(entry["ppk"])
            assert ppk == ike.ppk_stage["ppk"]
            for name in ("sk_d", "sk_pi", "sk_pr"):
                old = getattr(keys, name)
                assert prf_plus(t.prf_id, ppk, old, len(old)) == ike.ppk_stage[name] == ike.keys[name]
        checked += 1
    assert checked == 1


def test_only_the_ppk_capture_has_a_ppk_stage() -> None:
    for capture in CAPTURES:
        with_ppk = {spis for spis, ike in load(capture.stem).ike_sas().items() if ike.ppk_stage}
        assert bool(with_ppk) == PPK_CAPTURES.get(capture.stem, False), capture.stem


def notifies(chain: dict[int, list[bytes]]) -> dict[int, bytes]:
    """Notify type -> data (RFC 7296 section 3.10: protocol, SPI size, type, SPI, data)."""
    return {struct.unpack("!H", body[2:4])[0]: body[4 + body[1] :] for body in chain.get(41, [])}


@pytest.mark.parametrize("name", sorted(PPK_CAPTURES))
def test_ppk_notifies_on_the_wire_say_whether_the_ppk_was_used(name: str) -> None:
    lab = load(name)
    for message in (m for m in lab.messages if m.exchange == IKE_SA_INIT):
        assert USE_PPK in notifies(inner(message.data[16], message.data[28:]))  # RFC 8784 section 3
    auth = [(m, inner(first, plain)) for m, first, plain in whole_plaintexts(lab) if m.exchange == IKE_AUTH]
    (request, asked), (response, answered) = sorted(auth, key=lambda pair: pair[0].frame)
    assert not request.flags & FLAG_RESPONSE and response.flags & FLAG_RESPONSE
    assert notifies(asked)[PPK_IDENTITY] == b"\x02lab-ppk"  # PPK_ID_FIXED, then the identity
    applied = PPK_CAPTURES[name]
    assert (NO_PPK_AUTH in notifies(asked)) != applied  # ppk_required = yes sends no fallback AUTH
    assert (PPK_IDENTITY in notifies(answered)) == applied


def test_an_optional_addke_the_responder_declines_gives_a_single_stage_sa() -> None:
    lab = load("ikev2-pq-addke-optional")
    request, response = (m for m in lab.messages if m.exchange == IKE_SA_INIT)

    def transforms_of(message: Message) -> set[tuple[int, int]]:
        sa = next(b for k, _o, b in payloads(message.data[16], message.data, 28) if k == PAYLOAD_SA)
        proposal = sa[8 + sa[6] :]  # after the proposal header and SPI (RFC 7296 section 3.3.1)
        out, offset = set(), 0
        while offset + 8 <= len(proposal):
            length = struct.unpack("!H", proposal[offset + 2 : offset + 4])[0]
            out.add((proposal[offset + 4], struct.unpack("!H", proposal[offset + 6 : offset + 8])[0]))
            offset += length
        return out

    assert {(TRANSFORM_ADDKE1, 36), (TRANSFORM_ADDKE1, 0)} <= transforms_of(request)  # ML-KEM-768 or NONE
    assert not {t for t in transforms_of(response) if t[0] == TRANSFORM_ADDKE1 and t[1]}
    assert not [m for m in lab.messages if m.exchange == IKE_INTERMEDIATE]
    assert all(len(ike.key_stages) == 1 for ike in lab.ike_sas().values())


@pytest.mark.parametrize("capture", [c for c in CAPTURES if c.stem not in NO_SA], ids=lambda c: c.stem)
def test_every_encrypted_message_opens_with_the_stage_in_force_when_it_was_sent(capture: Path) -> None:
    lab = load(capture.stem)
    ike_sas = lab.ike_sas()
    encrypted = [
        m
        for m in lab.messages
        if m.spis in ike_sas and payloads(m.data[16], m.data, 28)[-1][0] in (PAYLOAD_SK, PAYLOAD_SKF)
    ]
    for message in encrypted:
        assert open_message(ike_sas[message.spis], message) is not None
    intermediate = [m for m in encrypted if m.exchange == IKE_INTERMEDIATE]
    addke = max(ike.additional_ke_count for ike in ike_sas.values())
    assert {m.message_id for m in intermediate} == set(range(1, addke + 1))
    # the stage before each IKE_INTERMEDIATE does NOT open the next one: the stages really differ
    for message in intermediate:
        ike = ike_sas[message.spis]
        later = ike.keys
        sender = "i" if message.flags & FLAG_INITIATOR else "r"
        kind, offset, _ = payloads(message.data[16], message.data, 28)[-1]
        t = transforms(ike)
        opener = open_skf if kind == PAYLOAD_SKF else open_sk
        wrong = opener(
            message.data, offset, encr_id=t.encr_id, sk_e=later["sk_e" + sender], integ_id=t.integ_id,
            sk_a=later.get("sk_a" + sender, b""),
        )  # fmt: skip
        assert wrong.failure is not None


@pytest.mark.parametrize("capture", [c for c in CAPTURES if c.stem not in NO_SA], ids=lambda c: c.stem)
def test_ike_intermediate_carries_ml_kem_key_shares_of_fips_203_sizes(capture: Path) -> None:
    lab = load(capture.stem)
    seen = 0
    for message, first, plain in whole_plaintexts(lab):
        if message.exchange not in (IKE_INTERMEDIATE, IKE_FOLLOWUP_KE):
            continue
        for body in inner(first, plain).get(PAYLOAD_KE, []):
            group = struct.unpack("!H", body[:2])[0]
            assert group in ML_KEM, group
            encapsulation_key, ciphertext = ML_KEM[group]
            assert len(body) - 4 == (ciphertext if message.flags & FLAG_RESPONSE else encapsulation_key)
            seen += 1
    ike_sas = lab.ike_sas()
    assert seen >= 2 * max(ike.additional_ke_count for ike in ike_sas.values())


def create_child_pairs(lab: Lab, exchange: int) -> list[tuple[Message, dict, Message, dict]]:
    """(request, its inner payloads, response, its inner payloads) of every EXCHANGE, opened."""
    opened = [(m, inner(first, plain)) for m, first, plain in whole_plaintexts(lab) if m.exchange == exchange]
    out = []
    for request, asked in (o for o in opened if not o[0].flags & FLAG_RESPONSE):
        response, answered = next(
            o
            for o in opened
            if o[0].flags & FLAG_RESPONSE
            and o[0].message_id == request.message_id
            and o[0].spis == request.spis
            and o[0].frame > request.frame
        )
        out.append((request, asked, response, answered))
    return out


def test_ike_sa_rekeys_with_ike_followup_ke_follow_rfc9370_from_the_old_sk_d() -> None:
    name = "ikev2-pq-ike-rekey-hybrid"
    if not (PROJECT_ROOT / "captures" / f"{name}.pcap").exists():
        pytest.fail(f"captures/{name}.pcap is missing")
    lab = load(name)
    ike_sas, entries = lab.ike_sas(), lab.key_entries()
    rekeys = 0
    for request, asked, response, answered in create_child_pairs(lab, CREATE_CHILD_SA):
        sa_i, sa_r = asked[PAYLOAD_SA][0], answered[PAYLOAD_SA][0]
        if sa_i[5] != PROTOCOL_IKE:
            continue
        new_spis = (sa_i[8 : 8 + sa_i[6]], sa_r[8 : 8 + sa_r[6]])
        new = ike_sas[(new_spis[0].hex(), new_spis[1].hex())]
        old = ike_sas[request.spis]
        entry = entries[(new_spis[0].hex(), new_spis[1].hex())]
        ni, nr = asked[PAYLOAD_NONCE][0], answered[PAYLOAD_NONCE][0]
        secrets = [bytes.fromhex(s) for s in entry["additional_secrets"]]
        assert len(secrets) == 1 == new.additional_ke_count
        t_old, t = transforms(old), transforms(new)
        # RFC 9370 section 2.2.2: SKEYSEED = prf(SK_d (old), SK(0) | Ni | Nr | SK(1) | ... | SK(n))
        skeyseed = prf(
            t_old.prf_id, old.keys["sk_d"], bytes.fromhex(entry["dh_secret"]) + ni + nr + b"".join(secrets)
        )
        assert as_logged(derived_keys(skeyseed, ni, nr, new_spis, t)) == logged_sk(new.keys)
        # ... and the followup exchange ran on the old SA between the CREATE_CHILD_SA and the new SA's use
        followups = [m for m in lab.messages if m.exchange == IKE_FOLLOWUP_KE and m.spis == request.spis]
        assert len(followups) == 2 and all(response.frame < m.frame for m in followups)
        rekeys += 1
    assert rekeys == 2


def test_child_rekey_with_ike_followup_ke_keys_include_every_additional_secret() -> None:
    name = "ikev2-pq-child-rekey-addke"
    if not (PROJECT_ROOT / "captures" / f"{name}.pcap").exists():
        pytest.fail(f"captures/{name}.pcap is missing")
    lab = load(name)
    followup = create_child_pairs(lab, IKE_FOLLOWUP_KE)
    assert len(followup) == 1
    pairs = [p for p in create_child_pairs(lab, CREATE_CHILD_SA) if p[1][PAYLOAD_SA][0][5] != PROTOCOL_IKE]
    assert len(pairs) == 1
    _request, asked, _response, answered = pairs[0]
    ni, nr = asked[PAYLOAD_NONCE][0], answered[PAYLOAD_NONCE][0]
    rekeyed = [
        c
        for log in lab.logs.values()
        for ike in log.ike_sas
        for c in ike.children
        if c.exchange != "IKE_AUTH"
    ]
    assert len(rekeyed) == 2  # one per peer
    for child in rekeyed:
        # RFC 9370 section 2.2.4: KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr | SK(1) | ... | SK(n))
        assert len(child.add_secret) == ML_KEM_SECRET
        assert child.keys["seed"] == child.dh_secret + ni + nr + child.add_secret


@pytest.mark.parametrize("capture", [c for c in CAPTURES if c.stem not in NO_SA], ids=lambda c: c.stem)
def test_child_keys_are_prf_plus_of_the_final_sk_d_and_every_esp_packet_decrypts(capture: Path) -> None:
    lab = load(capture.stem)
    for log in lab.logs.values():
        for ike in log.ike_sas:
            for child in ike.children:
                names = ("encryption_i", "integrity_i", "encryption_r", "integrity_r")
                sizes = [len(child.keys.get(k, b"")) for k in names]
                stream = prf_plus(transforms(ike).prf_id, ike.keys["sk_d"], child.keys["seed"], sum(sizes))
                offsets = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
                assert [stream[a:b] for a, b in zip(offsets, offsets[1:], strict=False)] == [
                    child.keys.get(k, b"") for k in names
                ]
    by_spi = {sa.spi: sa for log in lab.logs.values() for sa in log.esp_sas()}
    packets = esp_packets(PROJECT_ROOT / "captures" / f"{capture.stem}.pcap")
    for number, packet in packets:
        plain = open_esp(by_spi[packet[:4].hex()], packet)
        assert plain[9] == 1, f"frame {number}: ICMP inside"
    assert len(packets) >= 16


def test_ml_kem_as_the_ike_sa_init_key_exchange_gives_one_stage_from_the_kem_secret() -> None:
    lab = load("ikev2-pq-mlkem-init")
    request, response = (m for m in lab.messages if m.exchange == IKE_SA_INIT)
    for message, size in ((request, 1184), (response, 1088)):  # FIPS 203 ML-KEM-768
        body = next(b for k, _o, b in payloads(message.data[16], message.data, 28) if k == PAYLOAD_KE)
        assert struct.unpack("!H", body[:2])[0] == 36 and len(body) - 4 == size
    (ike,) = lab.ike_sas().values()
    assert len(ike.key_stages) == 1 and len(ike.dh_secret) == ML_KEM_SECRET  # SKEYSEED = prf(Ni | Nr, SS)


def test_a_fragmented_ike_sa_init_whose_fragments_are_lost_gets_no_answer() -> None:
    with open(PROJECT_ROOT / "captures" / "ikev2-pq-init-fragments-lost.pcap", "rb") as handle:
        packets = [dpkt.ethernet.Ethernet(frame).data for _ts, frame in dpkt.pcap.Reader(handle)]
    first = [ip for ip in packets if ip.mf and not ip.offset]  # RFC 791: more fragments, offset 0
    rest = [ip for ip in packets if ip.offset]
    assert len(first) == len(rest) == 3  # the request and two retransmissions, each in two fragments
    assert all(ip.src == first[0].src for ip in packets)  # nothing ever came back
    logs = load("ikev2-pq-init-fragments-lost").logs
    assert not any(log.ike_sas for log in logs.values())
