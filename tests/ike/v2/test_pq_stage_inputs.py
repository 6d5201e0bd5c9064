"""Inputs of the RFC 9370 key stages (issue 18): the command line's stage-scoped secrets and PPKs, and
the initiator's ML-KEM seed decapsulating the responder's ciphertext with cryptography's ML-KEM (the
lab logs no ML-KEM private key, so the key pairs are generated here)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import mlkem

from ikedecode.cli import main
from ikedecode.ike.records import IkeSa, Ikev2Facts
from ikedecode.ike.v2 import intermediate, stages
from ikedecode.ike.v2.keying import Ikev2Keying
from ikedecode.ike.v2.payloads import Ikev2KePayload
from ikedecode.ike.v2.sa_state import ExchangeState, Ikev2SaState
from ikedecode.keys.cli_inputs import keyring_from_options, parse_dh_secret, parse_ppk
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import DhPrivate, KeyRing
from ikedecode.keys.tomlfile import parse_key_file
from tests.conftest import CAPTURES_DIR

SPI_I = bytes.fromhex("8edb130ff4da71c9")
KEM = {36: mlkem.MLKEM768PrivateKey, 37: mlkem.MLKEM1024PrivateKey}


def ke(group: int, data: bytes) -> Ikev2KePayload:
    return Ikev2KePayload(type=34, offset=0, raw=b"", next_payload=0, group=group, data=data)


def exchange_of(seed: bytes, group: int) -> tuple[Ikev2KePayload, Ikev2KePayload, bytes]:
    """The initiator's encapsulation key, the responder's ciphertext and their shared secret."""
    public = KEM[group].from_seed_bytes(seed).public_key()
    shared, ciphertext = public.encapsulate()
    return ke(group, public.public_bytes_raw()), ke(group, ciphertext), shared


def state_with(ring: KeyRing) -> tuple[Ikev2Keying, Ikev2SaState]:
    sa = IkeSa(version=2, initiator_cookie=SPI_I, responder_cookie=None, initiator="a", responder="b",
               ikev2=Ikev2Facts())  # fmt: skip
    return Ikev2Keying(ring), Ikev2SaState(sa=sa, spi_i=SPI_I, spi_r=bytes(8))


@pytest.mark.parametrize("group", [36, 37])
def test_the_initiators_seed_decapsulates_the_responders_ciphertext(group):
    seed = bytes(range(64))
    ke_i, ke_r, shared = exchange_of(seed, group)
    assert (len(ke_i.data), len(ke_r.data)) == stages.ML_KEM[group][1:3]  # FIPS 203 sizes
    assert stages.mlkem_decapsulate(group, seed, ke_r.data) == shared
    assert stages.mlkem_owns(group, seed, ke_i.data)
    assert not stages.mlkem_owns(group, bytes(64), ke_i.data)  # another seed: another key pair


def test_a_private_value_that_is_no_seed_says_so():
    why = stages.mlkem_decapsulate(36, bytes(32), bytes(1088))
    assert isinstance(why, str) and "64-byte seed" in why


def test_stage_secrets_come_from_the_seed_that_made_the_initiators_key_share():
    seed = bytes(range(1, 65))
    ke_i, ke_r, shared = exchange_of(seed, 36)
    other = DhPrivate(bytes(64), "--dh-private #1")  # decapsulates too (ML-KEM never fails), not ours
    keying, state = state_with(KeyRing(dh_privates=[other, DhPrivate(seed, "--dh-private #2")]))
    assert intermediate.stage_secrets(keying, state, 1, ke_i, ke_r) == [
        (shared, "--dh-private #2 (ML-KEM decapsulation)")
    ]
    followup = ExchangeState(36, 3, True, followups=[(ke_i, ke_r, 4)])
    assert intermediate.followup_secrets(keying, followup, (SPI_I,), child=True) == (
        shared, ["--dh-private #2 (ML-KEM decapsulation)"],
    )  # fmt: skip


def test_a_given_stage_secret_is_taken_before_any_private_value():
    seed = bytes(range(1, 65))
    ke_i, ke_r, _ = exchange_of(seed, 36)
    ring = keyring_from_options([], [f"{SPI_I.hex()}:1={'ab' * 32}", f"{SPI_I.hex()}={'cd' * 32}"], [])
    keying, state = state_with(ring)
    assert [s for s, _ in intermediate.stage_secrets(keying, state, 1, ke_i, ke_r)] == [bytes([0xAB]) * 32]
    assert intermediate.stage_secrets(keying, state, 2, ke_i, ke_r) == []  # SK(2) not given
    missing = intermediate.followup_secrets(keying, ExchangeState(36, 3, True, followups=[(ke_i, ke_r, 4)]),
                                            (SPI_I,), child=True)  # fmt: skip
    assert missing == "no SK(1) of the IKE_FOLLOWUP_KE exchange 0x00000004 (ml-kem-768)"


def test_dh_secret_scopes_a_stage_with_a_colon_and_refuses_other_numbers():
    secret = parse_dh_secret(f"{SPI_I.hex()}:2={'11' * 32}", "--dh-secret #1")
    assert (secret.initiator_cookie, secret.stage, secret.origin) == (SPI_I, 2, "--dh-secret #1 (SK(2))")
    assert parse_dh_secret(f"{SPI_I.hex()}={'11' * 32}", "--dh-secret #1").stage == 0
    for bad in ("0", "8", "x", ""):
        with pytest.raises(KeyFileError, match="ADDKE1..ADDKE7"):
            parse_dh_secret(f"{SPI_I.hex()}:{bad}={'11' * 32}", "--dh-secret #1")


def test_ppk_is_an_id_and_a_hex_key():
    ppk = parse_ppk(f"lab-ppk={'99' * 32}", "--ppk #1")
    assert (ppk.identity, ppk.value) == (b"lab-ppk", bytes([0x99]) * 32)
    assert parse_ppk(f"0x00ff={'99' * 32}", "--ppk #1").identity == b"\x00\xff"
    with pytest.raises(KeyFileError, match="ID=HEX"):
        parse_ppk("99" * 32, "--ppk #1")


def test_key_files_give_additional_secrets_and_ppks_by_spi():
    ring = parse_key_file(
        f'[[ike_sa]]\ninitiator_cookie = "{SPI_I.hex()}"\ndh_secret = "{"01" * 32}"\n'
        f'additional_secrets = ["{"02" * 32}", "{"03" * 32}"]\nppk_id = "lab-ppk"\nppk = "{"04" * 32}"\n'
        f'[[quick_mode]]\ninitiator_cookie = "{SPI_I.hex()}"\nmessage_id = 4\ndh_secret = "{"05" * 32}"\n'
        f'additional_secrets = ["{"06" * 32}"]\n',
        "k.toml",
    ).keyring
    assert [(s.value[0], s.stage, s.message_id) for s in ring.dh_secrets] == [
        (1, 0, None), (2, 1, None), (3, 2, None), (5, 0, 4), (6, 1, 4),
    ]  # fmt: skip
    assert ring.ppks_for(b"lab-ppk", SPI_I)[0].value == bytes([4]) * 32
    assert not ring.ppks_for(b"lab-ppk", bytes(8))  # scoped to its SA
    with pytest.raises(KeyFileError, match="additional_secrets"):
        parse_key_file(
            f'[[ike_sa]]\ninitiator_cookie = "{SPI_I.hex()}"\nadditional_secrets = "02"\n', "k.toml"
        )


def test_a_bad_stage_on_the_command_line_is_a_one_line_error():
    result = CliRunner().invoke(
        main, [str(CAPTURES_DIR / "ikev2-pq-hybrid.pcap"), "--dh-secret", f"{SPI_I.hex()}:9=00"]
    )
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "ADDKE1..ADDKE7" in result.stderr


def test_ml_kem_as_ike_sa_inits_own_key_exchange_takes_the_seed_too():
    seed = bytes(range(2, 66))
    ke_i, ke_r, shared = exchange_of(seed, 36)
    keying, state = state_with(KeyRing(dh_privates=[DhPrivate(seed, "--dh-private #1")]))
    state.ke_group, state.ke_i, state.ke_r = 36, ke_i.data, ke_r.data
    assert keying._secrets(state) == [(shared, "--dh-private #1 (ML-KEM decapsulation)")]
