"""The accepted phase-1 transform's policy (``phase1_messages.policy_of``) is remembered by the
transform's attributes: each set of attributes still gets its own policy, as read from them."""

from __future__ import annotations

from ikedecode.ike.v1.attributes import IKE_CONTEXT, Attribute
from ikedecode.ike.v1.payloads import Transform
from ikedecode.ike.v1.phase1 import Phase1Policy
from ikedecode.ike.v1.phase1_messages import policy_of

# RFC 2409 Appendix A: encryption 1, hash 2, authentication 3, group 4, key length 14
AES_SHA256_PSK_14 = ((1, 7), (2, 4), (3, 1), (4, 14), (14, 256))
DES3_SHA1_RSA_2 = ((1, 5), (2, 2), (3, 3), (4, 2))


def transform(pairs: tuple[tuple[int, int | bytes], ...]) -> Transform:
    return Transform(1, 1, [Attribute(t, v, isinstance(v, int), IKE_CONTEXT) for t, v in pairs])


def test_each_set_of_attributes_gets_the_policy_read_from_it():
    first = policy_of(transform(AES_SHA256_PSK_14))
    other = policy_of(transform(DES3_SHA1_RSA_2))
    again = policy_of(transform(AES_SHA256_PSK_14))
    assert first == again == Phase1Policy(7, 4, 1, 14, 256)
    assert other == Phase1Policy(5, 2, 3, 2, None)


def test_a_variable_length_value_and_a_missing_hash():
    long_group = ((1, 7), (2, 4), (3, 1), (4, b"\x00\x0e"))
    assert policy_of(transform(long_group)) == Phase1Policy(7, 4, 1, 14, None)
    assert policy_of(transform(((1, 7), (3, 1)))) is None
    assert policy_of(transform(((1, 7), (3, 1)))) is None


def test_transforms_sharing_a_tuple_of_records_get_its_policy_and_others_their_own():
    """Transforms decoded from the same bytes share one tuple of attribute records: the policy is
    found by that tuple, and a tuple with other records is read for itself."""
    shared = tuple(transform(AES_SHA256_PSK_14).attributes)
    first, second = Transform(1, 1, shared), Transform(2, 1, shared)
    assert policy_of(first) == policy_of(second) == Phase1Policy(7, 4, 1, 14, 256)
    other = tuple(transform(DES3_SHA1_RSA_2).attributes)
    assert policy_of(Transform(1, 1, other)) == Phase1Policy(5, 2, 3, 2, None)
    none = tuple(transform(((1, 7), (3, 1))).attributes)
    assert policy_of(Transform(1, 1, none)) is None and policy_of(Transform(1, 1, none)) is None
