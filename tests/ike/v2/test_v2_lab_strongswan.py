"""IKEv2 cryptography against the lab's real strongSwan 5.9.8 captures (captures/ikev2-*.pcap).

What is known: the key file keys/NAME.toml gives what a user would know, the PSK(s) and each IKE
SA's g^ir by SPIs; charon's own logs (keys/NAME.west.log.gz, read with captures/lab/ikev2_keys.py)
give what charon derived: SKEYSEED, SK_*, the Child SA keys and PFS secrets. What is taken from the
capture: SPIs, nonces, the chosen transforms, the IKE_SA_INIT messages, ID/AUTH/CERT payloads.

* Every IKE SA's SKEYSEED and SK_* (RFC 7296 section 2.14, section 2.18 for the two rekeys of
  ikev2-ike-rekey, one made by the original responder) equal charon's.
* With those derived keys every SK / SKF payload of every capture opens with its ICV verified
  (AES-CBC + HMAC-SHA2-256-128, AES-GCM-16, ChaCha20-Poly1305, RFC 7383 fragments).
* Child SA KEYMAT (section 2.17, with and without PFS) equals charon's ESP keys.
* PSK AUTH payloads verify with the key file's PSK (section 2.15); in ikev2-auth-failed the
  initiator's AUTH matches its own PSK and not the responder's. RSA and ECDSA certificate AUTH
  payloads verify with the public key of the CERT payload, which chains to the lab CA.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import pytest
from ikev2_lab_exchanges import (
    AUTH,
    CERT,
    CREATE_CHILD_SA,
    IDI,
    IDR,
    IKE_AUTH,
    IKE_SA_INIT,
    KE,
    NONCE,
    PROJECT,
    SA,
    Message,
    algorithms,
    charon_log,
    chosen_transforms,
    exchanges,
    key_file,
    load_messages,
    open_all,
)

from ikedecode.ike.certificates import certificate_from_payload, check_chain, load_certificates
from ikedecode.ike.v2.auth import signed_octets, verify_auth, verify_psk_candidates
from ikedecode.ike.v2.keymat import Ikev2Keys, child_sa_keys, derive_ike_sa_keys, derive_rekeyed_ike_sa_keys

# the post-quantum captures (ikev2-pq-*: IKE_INTERMEDIATE key stages) are not for this single-stage test
LAB = sorted(
    p.stem for p in (PROJECT / "captures").glob("ikev2-*.pcap") if not p.stem.startswith("ikev2-pq-")
)
SK_NAMES = ("skeyseed", "sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr")


@dataclass
class IkeSa:
    keys: Ikev2Keys
    origin: str  # "IKE_SA_INIT" or "rekey"
    init: tuple[Message, Message] | None = None  # the IKE_SA_INIT request and response
    messages: list[Message] = field(default_factory=list)  # opened messages of this SA


@dataclass
class Lab:
    name: str
    messages: list[Message]
    sas: dict[tuple[str, str], IkeSa]
    encrypted: int  # datagrams with an SK or SKF payload in the capture


def _spis(message: Message) -> tuple[str, str]:
    return message.spis[0].hex(), message.spis[1].hex()


@functools.cache
def lab(name: str) -> Lab:
    messages = load_messages(PROJECT / "captures" / f"{name}.pcap")
    g_ir = {
        (sa["initiator_cookie"], sa["responder_cookie"]): bytes.fromhex(sa["dh_secret"])
        for sa in key_file(name).get("ike_sa", [])
        if "dh_secret" in sa
    }
    sas: dict[tuple[str, str], IkeSa] = {}
    for request, response in exchanges(messages, IKE_SA_INIT):
        if not response.payloads(KE) or _spis(response) not in g_ir:
            continue  # INVALID_KE_PAYLOAD / NO_PROPOSAL_CHOSEN answers carry no KE
        _, transforms = chosen_transforms(response.payloads(SA)[0])
        keys = derive_ike_sa_keys(
            g_ir[_spis(response)], request.payloads(NONCE)[0], response.payloads(NONCE)[0], *response.spis,
            **algorithms(transforms),
        )  # fmt: skip
        sas[_spis(response)] = IkeSa(keys, "IKE_SA_INIT", (request, response))
    # open SA by SA in capture order; a CREATE_CHILD_SA carrying an IKE proposal makes a new SA
    done: set[tuple[str, str]] = set()
    while len(done) < len(sas):
        spis = next(s for s in sas if s not in done)
        done.add(spis)
        sa = sas[spis]
        sa.messages = open_all([m for m in messages if _spis(m) == spis], sa.keys)
        for request, response in exchanges(sa.messages, CREATE_CHILD_SA):
            proposals = [chosen_transforms(body) for body in request.payloads(SA)]
            if not proposals or len(proposals[0][0]) != 8:
                continue  # a Child SA (ESP SPI of 4 bytes), not an IKE SA rekey
            new_spi_i = proposals[0][0]
            new_spi_r, transforms = chosen_transforms(response.payloads(SA)[0])
            new = (new_spi_i.hex(), new_spi_r.hex())
            keys = derive_rekeyed_ike_sa_keys(
                sa.keys, g_ir[new], request.payloads(NONCE)[0], response.payloads(NONCE)[0],
                new_spi_i, new_spi_r, **algorithms(transforms),
            )  # fmt: skip
            sas[new] = IkeSa(keys, "rekey")
    encrypted = sum(1 for m in messages if any(k in (46, 53) for k, _, _ in m.clear()))
    return Lab(name, messages, sas, encrypted)


WITH_KEYS = [
    name
    for name in LAB
    if key_file(name).get("ike_sa") and any("dh_secret" in s for s in key_file(name)["ike_sa"])
]


@pytest.mark.parametrize("name", WITH_KEYS)
def test_skeyseed_and_sk_keys_from_capture_and_logged_g_ir_equal_charons(name):
    logged = {(sa.spi_i, sa.spi_r): sa for sa in charon_log(name).ike_sas}
    derived = lab(name).sas
    assert derived and set(derived) <= set(logged)
    for spis, sa in derived.items():
        for key in SK_NAMES:
            assert getattr(sa.keys, key) == logged[spis].keys.get(key, b""), (spis, key)


def test_both_ike_sa_rekeys_are_derived_including_the_one_by_the_original_responder():
    sas = lab("ikev2-ike-rekey").sas
    assert [sa.origin for sa in sas.values()] == ["IKE_SA_INIT", "rekey", "rekey"]
    rekey_requests = [
        (request.from_initiator, _spis(request))
        for sa in sas.values()
        for request, _ in exchanges(sa.messages, CREATE_CHILD_SA)
    ]
    assert [flag for flag, _ in rekey_requests] == [True, False]  # west, then east (the original responder)


@pytest.mark.parametrize("name", WITH_KEYS)
def test_every_sk_and_skf_payload_opens_verified_with_the_derived_keys(name):
    result = lab(name)
    opened = [m for sa in result.sas.values() for m in sa.messages]
    assert sum(len(m.opened) for m in opened) == result.encrypted  # every SK and SKF payload
    for message in opened:
        assert message.opened and all(o.ok and o.integrity_verified for o in message.opened), message.frame
        assert message.inner or message.exchange == 37, message.frame  # empty INFORMATIONAL answers


def test_fragmented_ike_auth_messages_reassemble_from_verified_skf_payloads():
    sa = next(iter(lab("ikev2-fragments").sas.values()))
    fragmented = [m for m in sa.messages if len(m.opened) > 1]
    assert fragmented, "the capture has RFC 7383 fragments"
    for message in fragmented:
        numbers = [o.fragment_number for o in message.opened]
        assert sorted(numbers) == list(range(1, message.opened[0].total_fragments + 1))
    assert all(m.payloads(CERT) for m in fragmented)  # certificates are what made them big


@pytest.mark.parametrize("name", WITH_KEYS)
def test_child_sa_keymat_equals_charons_esp_keys(name):
    result = lab(name)
    checked = 0
    for ike in charon_log(name).ike_sas:
        sa = result.sas.get((ike.spi_i, ike.spi_r))
        if sa is None:
            continue
        for child in ike.children:
            if child.exchange == IKE_AUTH_NAME:
                request, response = sa.init
            else:
                request, response = next(
                    (q, r)
                    for q, r in exchanges(sa.messages, CREATE_CHILD_SA)
                    if q.message_id == child.message_id
                )
            ni, nr = request.payloads(NONCE)[0], response.payloads(NONCE)[0]
            secret = child.dh_secret or b""
            assert child.keys["seed"] == secret + ni + nr
            keys = child_sa_keys(
                sa.keys.prf_id, sa.keys.sk_d, ni, nr, shared_secret=secret,
                encr_keymat_size=len(child.keys["encryption_i"]),
                integ_key_size=len(child.keys.get("integrity_i", b"")),
            )  # fmt: skip
            assert (keys.encr_i, keys.integ_i, keys.encr_r, keys.integ_r) == (
                child.keys["encryption_i"], child.keys.get("integrity_i", b""),
                child.keys["encryption_r"], child.keys.get("integrity_r", b""),
            )  # fmt: skip
            checked += 1
    assert checked >= 1 or name in ("ikev2-auth-failed", "ikev2-ts-unacceptable")


IKE_AUTH_NAME = "IKE_AUTH"


def _auth_exchanges(sa: IkeSa):
    """(AUTH body, ID body, signer is initiator, message carrying it) of the IKE_AUTH exchange."""
    init_request, init_response = sa.init
    for message in sa.messages:
        if message.exchange != IKE_AUTH:
            continue
        for auth in message.payloads(AUTH):
            ids = message.payloads(IDR if message.is_response else IDI)
            initiator = not message.is_response
            yield auth, ids[0] if ids else None, initiator, message


def _octets(sa: IkeSa, initiator: bool, id_body: bytes) -> bytes:
    request, response = sa.init
    if initiator:
        return signed_octets(sa.keys.prf_id, sa.keys.sk_pi, request.raw, response.payloads(NONCE)[0], id_body)
    return signed_octets(sa.keys.prf_id, sa.keys.sk_pr, response.raw, request.payloads(NONCE)[0], id_body)


PSK_CAPTURES = [n for n in WITH_KEYS if key_file(n).get("psk") and n != "ikev2-auth-failed"]


@pytest.mark.parametrize("name", PSK_CAPTURES)
def test_psk_auth_payloads_verify_with_the_key_file_psk_in_both_directions(name):
    psks = [p["secret"].encode() for p in key_file(name)["psk"]]
    for sa in lab(name).sas.values():
        if sa.init is None:
            continue
        sides = []
        for auth, id_body, initiator, _ in _auth_exchanges(sa):
            assert auth[0] == 2
            result = verify_auth(
                2, auth[4:], _octets(sa, initiator, id_body), prf_id=sa.keys.prf_id, psks=psks
            )
            assert result.verified is True, (name, initiator, result)
            sides.append(initiator)
            wrong = verify_psk_candidates(
                sa.keys.prf_id, [b"not the psk"], auth[4:], _octets(sa, initiator, id_body)
            )
            assert wrong.verified is False
        assert sorted(sides) == [False, True]  # the initiator's and the responder's AUTH


def test_failed_psk_authentication_names_which_psk_the_initiator_used():
    name = "ikev2-auth-failed"
    by_peer = {p["peer"]: p["secret"].encode() for p in key_file(name)["psk"]}
    sa = next(iter(lab(name).sas.values()))
    (auth, id_body, initiator, _), *rest = list(_auth_exchanges(sa))
    assert initiator and not rest  # the responder answers AUTHENTICATION_FAILED, no AUTH
    octets = _octets(sa, True, id_body)
    candidates = [by_peer["192.0.2.1"], by_peer["192.0.2.2"]]  # east's PSK, west's PSK
    result = verify_psk_candidates(sa.keys.prf_id, candidates, auth[4:], octets)
    assert (result.verified, result.psk_index) == (True, 1)
    assert verify_psk_candidates(sa.keys.prf_id, candidates[:1], auth[4:], octets).verified is False


@pytest.mark.parametrize(
    ("name", "ca", "methods"),
    [("ikev2-rsa-cert", "ca-rsa.crt", {1, 14}), ("ikev2-ecdsa-cert", "ca-ecdsa.crt", {9, 14})],
)
def test_certificate_auth_verifies_with_the_cert_payload_key_which_chains_to_the_lab_ca(name, ca, methods):
    trusted = load_certificates((PROJECT / "keys" / "ikev2-pki" / ca).read_bytes())
    sa = next(iter(lab(name).sas.values()))
    seen = []
    for auth, id_body, initiator, message in _auth_exchanges(sa):
        certs = [certificate_from_payload(body) for body in message.payloads(CERT)]
        assert certs and certs[0] is not None
        leaf = certs[0]
        chain = check_chain(leaf, [c for c in certs[1:] if c], trusted, at=leaf.not_before)
        assert chain.valid and chain.path[-1].self_signed, chain.problems
        octets = _octets(sa, initiator, id_body)
        result = verify_auth(auth[0], auth[4:], octets, public_key=leaf.public_key)
        assert result.verified is True, result
        assert auth[0] in methods
        assert verify_auth(auth[0], auth[4:], octets + b"\0", public_key=leaf.public_key).verified is False
        seen.append((initiator, leaf.subject.split(",")[0]))
    assert sorted(seen) == [(False, "CN=east.lab.example"), (True, "CN=west.lab.example")]
