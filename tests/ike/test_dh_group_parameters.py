"""The transcribed Diffie-Hellman group parameters are the RFC groups (independent checks).

* RFC 2409 / RFC 3526 primes are defined as 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + k);
  the test recomputes each prime from pi (Machin's formula) and the published offset k, so a
  transcription slip in any hex digit fails.
* Every MODP prime is a probable prime with the documented bit length; for the generator-2
  groups (p-1)/2 is a probable prime too (safe primes), checked with Miller-Rabin.
* RFC 5114 groups: p and q are probable primes of the documented sizes, q divides p-1, and g
  generates the order-q subgroup (g^q = 1 mod p, g != 1).
"""

from __future__ import annotations

import pytest

from ikedecode.ike.dh import GROUPS, UNSUPPORTED_GROUPS, GroupKind

# group id: (bits, k) from RFC 2409 s6.1/6.2 and RFC 3526 s2-7.
PI_PRIMES = {
    1: (768, 149686),
    2: (1024, 129093),
    5: (1536, 741804),
    14: (2048, 124476),
    15: (3072, 1690314),
    16: (4096, 240904),
    17: (6144, 929484),
    18: (8192, 4743158),
}

# group id: (prime bits, subgroup order bits), RFC 5114 s2.1-2.3.
RFC5114_GROUPS = {22: (1024, 160), 23: (2048, 224), 24: (2048, 256)}

SMALL_PRIMES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


def _arctan_inverse(x: int, scale: int) -> int:
    """floor-ish(arctan(1/x) * scale) by the alternating Taylor series."""
    total, term, n, sign = 0, scale // x, 1, 1
    x_squared = x * x
    while term:
        total += sign * (term // n)
        term //= x_squared
        n += 2
        sign = -sign
    return total


def _pi_times_power_of_two(bits: int) -> int:
    """floor(pi * 2^bits), with 64 guard bits (Machin: pi = 16 atan(1/5) - 4 atan(1/239))."""
    scale = 1 << (bits + 64)
    pi_scaled = 16 * _arctan_inverse(5, scale) - 4 * _arctan_inverse(239, scale)
    return pi_scaled >> 64


def _miller_rabin(n: int, bases: tuple[int, ...]) -> bool:
    if n < 2 or any(n % p == 0 for p in SMALL_PRIMES if p < n):
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


@pytest.mark.parametrize("group_id", sorted(PI_PRIMES))
def test_modp_prime_equals_the_pi_formula(group_id: int) -> None:
    bits, k = PI_PRIMES[group_id]
    expected = (1 << bits) - (1 << (bits - 64)) - 1 + (1 << 64) * (_pi_times_power_of_two(bits - 130) + k)
    group = GROUPS[group_id]
    assert group.prime == expected
    assert group.prime.bit_length() == bits
    assert group.generator == 2
    assert group.public_length == group.secret_length == bits // 8


@pytest.mark.parametrize("group_id", sorted(PI_PRIMES))
def test_modp_prime_is_a_safe_prime(group_id: int) -> None:
    p = GROUPS[group_id].prime
    assert pow(2, p - 1, p) == 1  # Fermat, base 2
    # One Miller-Rabin round on (p-1)/2: a mistyped number is practically never a strong
    # pseudoprime to base 3, and one round keeps group 18 near two seconds.
    assert _miller_rabin((p - 1) // 2, (3,))


@pytest.mark.parametrize("group_id", sorted(RFC5114_GROUPS))
def test_rfc5114_group_generates_its_prime_order_subgroup(group_id: int) -> None:
    p_bits, q_bits = RFC5114_GROUPS[group_id]
    group = GROUPS[group_id]
    p, g, q = group.prime, group.generator, group.subgroup_order
    assert q is not None
    assert (p.bit_length(), q.bit_length()) == (p_bits, q_bits)
    assert _miller_rabin(p, (2, 3, 5)) and _miller_rabin(q, (2, 3, 5, 7, 11))
    assert (p - 1) % q == 0
    assert g != 1 and pow(g, q, p) == 1
    assert group.public_length == p_bits // 8


def test_miller_rabin_helper_rejects_composites() -> None:
    # A helper that says "prime" to everything would make the tests above meaningless.
    carmichael = 561
    assert not _miller_rabin(carmichael, (2, 3))
    assert not _miller_rabin(GROUPS[14].prime * 3, (2,))
    assert not _miller_rabin(GROUPS[2].prime + 2, (2, 3))
    assert _miller_rabin(2**127 - 1, (2, 3, 5))


def test_pi_helper_produces_known_leading_bits() -> None:
    # pi = 3.243F6A8885A308D3... in hexadecimal.
    assert _pi_times_power_of_two(62) == 0xC90FDAA22168C234


def test_group_table_kinds_and_sizes() -> None:
    kinds = {group_id: group.kind for group_id, group in GROUPS.items()}
    assert [g for g, kind in kinds.items() if kind is GroupKind.MODP] == [
        1,
        2,
        5,
        14,
        15,
        16,
        17,
        18,
        22,
        23,
        24,
    ]
    assert {g: GROUPS[g].public_length for g in (19, 20, 21, 31, 32)} == {
        19: 64,
        20: 96,
        21: 132,
        31: 32,
        32: 56,
    }
    assert {g: GROUPS[g].secret_length for g in (19, 20, 21)} == {19: 32, 20: 48, 21: 66}
    assert GROUPS[2].name == "modp1024" and GROUPS[19].name == "ecp256" and GROUPS[31].name == "curve25519"
    assert all(group.id == group_id for group_id, group in GROUPS.items())
    assert not set(GROUPS) & set(UNSUPPORTED_GROUPS)
