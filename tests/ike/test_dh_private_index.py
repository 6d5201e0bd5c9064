"""Private DH values are found by their public value, and g^xy is the same however it is computed."""

from __future__ import annotations

import pytest

from ikedecode.ike import dh
from ikedecode.ike.dh_work import (
    INDEX_CHUNK,
    DhFailure,
    DhPrivateIndex,
    DhPrivateSecrets,
    Finished,
    InlineDhProvider,
    public_values,
    shared_secrets,
)
from ikedecode.ike.v1.phase1 import ClearMaterial, Phase1Policy, dh_secret_candidates
from ikedecode.keys.keyring import DhPrivate, KeyRing

GROUP = 14


def private(n: int) -> bytes:
    """A short (256-bit) MODP exponent: fast, and as valid as a full-length one."""
    return (0x1234567 * n + 3).to_bytes(32, "big")


def ring_of(*values: bytes) -> list[DhPrivate]:
    return [DhPrivate(v, f"p{i}") for i, v in enumerate(values, 1)]


class DeferredProvider:
    """A provider whose jobs finish only when ``release`` is called: records what it was given."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, int, int]] = []  # (kind, group, items)
        self.jobs: list[Deferred] = []

    def public_values(self, group, privates):  # noqa: ANN001, ANN201
        self.submitted.append(("public", group, len(privates)))
        return self._job(lambda: public_values(group, privates))

    def shared_secrets(self, group, pairs):  # noqa: ANN001, ANN201
        self.submitted.append(("secret", group, len(pairs)))
        return self._job(lambda: shared_secrets(group, pairs))

    def _job(self, work):  # noqa: ANN001, ANN202
        job = Deferred(work)
        self.jobs.append(job)
        return job

    def release(self) -> None:
        for job in self.jobs:
            job.finish()


class Deferred:
    def __init__(self, work) -> None:  # noqa: ANN001
        self.work, self.value = work, None

    def finish(self) -> None:
        if self.value is None:
            self.value = self.work()

    def done(self) -> bool:
        return self.value is not None

    def result(self):  # noqa: ANN201 - a job that is waited for finishes, as a Future would
        self.finish()
        return self.value


def test_index_finds_the_private_value_of_either_ke_payload_in_key_ring_order():
    values = [private(n) for n in range(1, 6)]
    index = DhPrivateIndex(ring_of(*values), InlineDhProvider())
    g_xi, g_xr = dh.public_value(GROUP, values[3]), dh.public_value(GROUP, values[1])
    assert index.lookup(GROUP, g_xi, g_xr) == [(1, "responder"), (3, "initiator")]
    assert index.lookup(GROUP, dh.public_value(GROUP, private(99)), g_xr) == [(1, "responder")]
    assert index.lookup(GROUP, b"\x05" * 256, b"\x07" * 256) == []


def test_index_keeps_duplicates_and_reports_values_unusable_in_the_group():
    too_long_for_group_2 = b"\x01" * 200  # MODP-1024 private values have at most 128 bytes
    values = [private(1), too_long_for_group_2, private(1)]
    index = DhPrivateIndex(ring_of(*values), InlineDhProvider())
    g_x = dh.public_value(2, private(1))
    assert index.lookup(2, g_x, b"\x02" * 128) == [(0, "initiator"), (2, "initiator")]
    assert index.failures(2) == [(1, "modp1024 private value must be 1 to 128 bytes, got 200")]
    assert index.lookup(GROUP, dh.public_value(GROUP, too_long_for_group_2), b"\x02" * 256) == [
        (1, "initiator")
    ]


def test_index_does_not_wait_when_asked_not_to_and_computes_each_group_once():
    provider = DeferredProvider()
    values = [private(n) for n in range(1, INDEX_CHUNK + 3)]
    index = DhPrivateIndex(ring_of(*values), provider)
    g_x = dh.public_value(GROUP, values[-1])
    assert index.lookup(GROUP, g_x, b"\x02" * 256, wait=False) is None
    assert provider.submitted == [("public", GROUP, INDEX_CHUNK), ("public", GROUP, 2)]
    provider.release()
    assert index.lookup(GROUP, g_x, b"\x02" * 256, wait=False) == [(len(values) - 1, "initiator")]
    index.lookup(GROUP, b"\x03" * 256, g_x)
    assert len(provider.submitted) == 2


def test_secrets_asked_ahead_are_handed_out_in_batches_and_used_later():
    provider = DeferredProvider()
    sides = [(private(2 * n + 1), private(2 * n + 2)) for n in range(10)]
    ring = ring_of(*(x_i for x_i, _ in sides))
    secrets = DhPrivateSecrets(ring, provider)
    kes = [(dh.public_value(GROUP, x_i), dh.public_value(GROUP, x_r)) for x_i, x_r in sides]
    for g_xi, g_xr in kes:
        secrets.anticipate(GROUP, g_xi, g_xr)  # the index is not done: nothing waits
    assert [kind for kind, *_ in provider.submitted] == ["public"]
    provider.release()
    secrets.anticipate(GROUP, *kes[0])  # the index is done: the 10 SAs go out, 8 at a time
    assert provider.submitted[1:] == [("secret", GROUP, 8)]
    for n, (g_xi, g_xr) in enumerate(kes):
        found = secrets.outcomes(GROUP, g_xi, g_xr)
        expected = dh.shared_secret(GROUP, sides[n][0], g_xr)
        assert [(o.private.origin, o.side, o.secret) for o in found] == [(f"p{n + 1}", "initiator", expected)]
    assert provider.submitted[1:] == [("secret", GROUP, 8), ("secret", GROUP, 2)]


def test_candidates_from_private_values_match_what_a_key_by_key_search_gives():
    """The indexed search gives the g^xy candidates, origins and notes of trying every private value."""
    x_i, x_r = private(7), private(8)
    g_xi, g_xr = dh.public_value(2, x_i), dh.public_value(2, x_r)
    ring = KeyRing(dh_privates=ring_of(b"\x01" * 200, x_r, private(9), x_i))
    policy = Phase1Policy(7, 2, 1, 2, 128)
    clear = ClearMaterial(b"I" * 8, b"R" * 8, g_xi, g_xr, b"n" * 16, b"m" * 16, "192.0.2.1", "198.51.100.1")
    candidates, notes = dh_secret_candidates(ring, policy, clear)
    expected = []
    for p in ring.dh_privates:  # the search the index replaces
        try:
            public = dh.public_value(2, p.value)
        except ValueError as exc:
            expected.append(f"{p.origin}: {exc}")
            continue
        if public == g_xi:
            expected.append((dh.shared_secret(2, p.value, g_xr), f"{p.origin} (initiator)", True))
        elif public == g_xr:
            expected.append((dh.shared_secret(2, p.value, g_xi), f"{p.origin} (responder)", True))
    assert candidates == [e for e in expected if isinstance(e, tuple)]
    assert notes == [e for e in expected if isinstance(e, str)]
    assert [origin for _, origin, _ in candidates] == ["p2 (responder)", "p4 (initiator)"]


def test_failures_are_values_with_the_dh_module_s_sentence():
    out = shared_secrets(
        GROUP, [(private(1), b"\x00" * 256), (private(1), dh.public_value(GROUP, private(2)))]
    )
    assert out[0] == DhFailure("modp2048 public value is out of range (must be 1 < y < p-1)")
    assert out[1] == dh.shared_secret(GROUP, private(1), dh.public_value(GROUP, private(2)))


@pytest.mark.parametrize("group", [2, 19])
def test_in_line_provider_gives_the_dh_module_s_values(group: int):
    x = private(5)
    provider = InlineDhProvider()
    job = provider.public_values(group, [x])
    assert isinstance(job, Finished) and job.done()
    assert job.result() == [dh.public_value(group, x)]
    peer = dh.public_value(group, private(6))
    assert provider.shared_secrets(group, [(x, peer)]).result() == [dh.shared_secret(group, x, peer)]
