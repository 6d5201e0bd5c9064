"""The IKEv2 fuzz targets reach what they claim: a recorded plaintext sealed again (``fuzz/ikev2_seal.py``)
opens to the same plaintext with its ICV verified, and a fragmented message cut again into SKF
fragments is reassembled with its AUTH verified, so mutations land behind decryption."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fuzz import corpus, targets_v2
from fuzz.ikev2_seal import pad, seal
from ikedecode.ike.engine import IkeEngine
from ikedecode.ike.events import IkeSaClosed, IpsecSaKeyed
from ikedecode.ike.records import Protection
from ikedecode.ike.v2.protection import open_sk, open_skf

SEALABLE = targets_v2._sealable()


def test_lab_captures_give_sealable_ikev2_plaintexts_of_several_ciphers():
    ciphers = {p.encr_id for s in SEALABLE for p in s.ikev2_plaintexts.values()}
    assert len(SEALABLE) >= 10 and {12, 20, 28} <= ciphers  # AES-CBC, AES-GCM-16, ChaCha20-Poly1305


@pytest.mark.parametrize("session", SEALABLE, ids=lambda s: s.name)
def test_every_recorded_plaintext_sealed_again_opens_to_itself(session):
    for index, opened in session.ikev2_plaintexts.items():
        keys = {
            "encr_id": opened.encr_id,
            "sk_e": opened.sk_e,
            "integ_id": opened.integ_id,
            "sk_a": opened.sk_a,
        }
        head = session.ike[index].payload[: opened.head_size]
        message = seal(head, pad(opened.encr_id, opened.plaintext), iv=opened.iv, **keys)
        result = (open_skf if opened.fragment else open_sk)(message, opened.sk_offset, **keys)
        assert result.ok and result.integrity_verified and result.plaintext == opened.plaintext
        flipped = message[:-1] + bytes([message[-1] ^ 1])
        assert not (open_skf if opened.fragment else open_sk)(flipped, opened.sk_offset, **keys).ok


def test_fragment_target_reassembles_and_verifies_auth(monkeypatch):
    engines = []
    real = targets_v2.run_replaced

    def keep(*args):  # noqa: ANN002, ANN202
        engines.append(real(*args))
        return engines[-1]

    monkeypatch.setattr(targets_v2, "run_replaced", keep)
    seeds = targets_v2.ikev2_fragment_seeds()
    assert seeds, "the ikev2-fragments capture has no recorded SKF fragments"
    for seed in seeds:
        targets_v2.ikev2_fragments(seed)
    closed = [e.sa for engine in engines for e in engine.finish() if type(e) is IkeSaClosed]
    sas = [sa for sa in closed if sa.version == 2]
    notes = [m.note for sa in sas for m in sa.messages]
    assert sum("reassembled from" in note for note in notes) >= len(seeds)
    assert any(sa.authenticated for sa in sas)
    assert all(m.protection is Protection.VERIFIED for sa in sas for m in sa.messages if m.encrypted)


def test_the_plaintext_target_keys_the_child_sa_as_the_original_does():
    session = next(s for s in SEALABLE if s.name == "ikev2-psk-aes-cbc-sha256")
    original = IkeEngine(session.keyring())
    expected = [e.keys for d in session.ike for e in original.receive(d) if type(e) is IpsecSaKeyed]
    index, opened = min(session.ikev2_plaintexts.items())
    head = session.ike[index].payload[: opened.head_size]
    keys = {"encr_id": opened.encr_id, "sk_e": opened.sk_e, "integ_id": opened.integ_id, "sk_a": opened.sk_a}
    resealed = seal(head, pad(opened.encr_id, opened.plaintext, 16), iv=opened.iv, **keys)
    engine = IkeEngine(session.keyring())
    keyed = [
        e.keys
        for position, datagram in enumerate(session.ike)
        for e in engine.receive(replace(datagram, payload=resealed) if position == index else datagram)
        if type(e) is IpsecSaKeyed
    ]
    assert expected and keyed == expected
    assert corpus.ikev2_sessions(keyed=True)
