"""Key-ring lookups by cookie pick the keys of that IKE SA, in the order given, as the ring grows."""

from __future__ import annotations

from ikedecode.keys.keyring import DhSecret, Ikev2KeyMaterial, KeyRing, Phase1KeyMaterial


def cookie(n: int) -> bytes:
    return n.to_bytes(8, "big")


def test_dh_secrets_for_a_cookie_are_its_own_and_the_unscoped_ones_in_order():
    ring = KeyRing(
        dh_secrets=[
            DhSecret(b"a", "scoped 1", cookie(1)),
            DhSecret(b"b", "unscoped"),
            DhSecret(b"c", "scoped 2", cookie(2)),
            DhSecret(b"d", "scoped 1 again", cookie(1)),
            DhSecret(b"e", "quick mode of 1", cookie(1), message_id=7),
        ]
    )
    assert [s.origin for s in ring.dh_secrets_for(cookie(1))] == ["scoped 1", "unscoped", "scoped 1 again"]
    assert [s.origin for s in ring.dh_secrets_for(cookie(2))] == ["unscoped", "scoped 2"]
    assert [s.origin for s in ring.dh_secrets_for(cookie(3))] == ["unscoped"]
    assert [s.origin for s in ring.dh_secrets_for(cookie(1), 7)][-1] == "quick mode of 1"


def test_lookups_follow_keys_added_or_replaced_after_a_lookup():
    ring = KeyRing(dh_secrets=[DhSecret(b"a", "first", cookie(1))])
    assert [s.origin for s in ring.dh_secrets_for(cookie(1))] == ["first"]
    ring.dh_secrets.append(DhSecret(b"b", "added", cookie(1)))
    assert [s.origin for s in ring.dh_secrets_for(cookie(1))] == ["first", "added"]
    ring.dh_secrets = [DhSecret(b"c", "replaced", cookie(2))]
    assert ring.dh_secrets_for(cookie(1)) == []
    assert [s.origin for s in ring.dh_secrets_for(cookie(2))] == ["replaced"]


def test_many_secrets_each_found_by_its_own_cookie():
    ring = KeyRing(dh_secrets=[DhSecret(n.to_bytes(4, "big"), f"#{n}", cookie(n)) for n in range(10_000)])
    for n in (0, 4_321, 9_999):
        assert [s.value for s in ring.dh_secrets_for(cookie(n))] == [n.to_bytes(4, "big")]


def test_phase1_keys_match_the_initiator_cookie_and_any_or_the_same_responder_cookie():
    ring = KeyRing(
        phase1_keys=[
            Phase1KeyMaterial(cookie(1), "pair 1/2", cookie(2), encryption_key=b"k1"),
            Phase1KeyMaterial(cookie(1), "initiator 1 only", encryption_key=b"k2"),
            Phase1KeyMaterial(cookie(3), "pair 3/4", cookie(4), encryption_key=b"k3"),
        ]
    )
    assert [k.origin for k in ring.phase1_keys_for(cookie(1), cookie(2))] == ["pair 1/2", "initiator 1 only"]
    assert [k.origin for k in ring.phase1_keys_for(cookie(1), cookie(9))] == ["initiator 1 only"]
    assert [k.origin for k in ring.phase1_keys_for(cookie(3), cookie(4))] == ["pair 3/4"]
    assert ring.phase1_keys_for(cookie(4), cookie(3)) == []


def test_ikev2_keys_for_an_spi_pair_are_its_own_every_stage_in_order():
    ring = KeyRing(
        ikev2_keys=[
            Ikev2KeyMaterial(cookie(1), cookie(2), "pair 1/2"),
            Ikev2KeyMaterial(cookie(1), cookie(3), "pair 1/3"),
            Ikev2KeyMaterial(cookie(1), cookie(2), "pair 1/2, stage 1", stage=1),
        ]
    )
    assert [k.origin for k in ring.ikev2_keys_for(cookie(1), cookie(2))] == ["pair 1/2", "pair 1/2, stage 1"]
    assert [k.origin for k in ring.ikev2_keys_for(cookie(1), cookie(3))] == ["pair 1/3"]
    assert ring.ikev2_keys_for(cookie(2), cookie(1)) == []
    assert ring.ikev2_keys_for(cookie(1), None) == []  # the responder's SPI not known yet


def test_ikev2_key_lookups_follow_keys_added_or_replaced_after_a_lookup():
    ring = KeyRing(ikev2_keys=[Ikev2KeyMaterial(cookie(1), cookie(2), "first")])
    assert [k.origin for k in ring.ikev2_keys_for(cookie(1), cookie(2))] == ["first"]
    ring.ikev2_keys.append(Ikev2KeyMaterial(cookie(1), cookie(2), "added"))
    assert [k.origin for k in ring.ikev2_keys_for(cookie(1), cookie(2))] == ["first", "added"]
    ring.ikev2_keys = [Ikev2KeyMaterial(cookie(5), cookie(6), "replaced")]
    assert ring.ikev2_keys_for(cookie(1), cookie(2)) == []
    assert [k.origin for k in ring.ikev2_keys_for(cookie(5), cookie(6))] == ["replaced"]
