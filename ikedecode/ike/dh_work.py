"""g^xy from private DH values (``--dh-private``): which private belongs to which SA, and the
modular exponentiations, done in-line or by whatever ``DhProvider`` the caller supplies.

A key ring may hold thousands of private values, one per IKE SA of a capture. A private value
belongs to an SA when its public value is one of the SA's KE payloads (g^x, RFC 2409 section 5),
so ``DhPrivateIndex`` computes every private's public value once per DH group and maps public
values back to privates: each SA then costs one lookup and one exponentiation (g^xy = (g^y)^x,
RFC 2631 2.1.1; the x coordinate of x*Q for ECP groups, RFC 5903 section 7), instead of one
exponentiation per private value.

The exponentiations (about 2 ms each for MODP-2048 with a full-length exponent) go through a
``DhProvider``: ``submit``-style calls that return a job with ``done()`` and ``result()`` (a
``concurrent.futures.Future`` is one). ``InlineDhProvider`` computes at once, in this process;
``ikedecode.parallel.dh_pool`` provides one backed by worker processes. Nothing here starts a
process or does I/O: the engine only hands work to the provider it was given and, with
``DhPrivateSecrets.anticipate``, asks for it early, so results are ready when a message needs them.
Whatever the provider, the values and their order are the same, so the output is too.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

from ikedecode.ike import dh
from ikedecode.keys.keyring import DhPrivate

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

Side = Literal["initiator", "responder"]
INDEX_CHUNK = 64  # private values per public-value job
SECRETS_PER_JOB = 8  # g^xy computations per job handed to the provider when computing ahead
MAX_AHEAD = 16_384  # g^xy computed ahead and not yet used, and SAs waiting for the index: kept at most


@dataclass(frozen=True, slots=True)
class DhFailure:
    """Why a private value (or a peer's public value) cannot be used: ``str`` of the ``ValueError``."""

    message: str


DhOutcome = bytes | DhFailure


def public_values(group: int, privates: Sequence[bytes]) -> list[DhOutcome]:
    """The public value (KE payload data) of each private value, or why there is none."""
    out: list[DhOutcome] = []
    for private in privates:
        try:
            out.append(dh.public_value(group, private))
        except ValueError as exc:  # UnsupportedAlgorithm, InvalidPrivateValue
            out.append(DhFailure(str(exc)))
    return out


def shared_secrets(group: int, pairs: Sequence[tuple[bytes, bytes]]) -> list[DhOutcome]:
    """g^xy for each (private value, peer's public value), or why there is none."""
    out: list[DhOutcome] = []
    for private, peer_public in pairs:
        try:
            out.append(dh.shared_secret(group, private, peer_public))
        except ValueError as exc:  # InvalidPublicValue, InvalidPrivateValue, UnsupportedAlgorithm
            out.append(DhFailure(str(exc)))
    return out


class DhJob(Protocol[T_co]):
    """Work handed to a provider (``concurrent.futures.Future`` fits)."""

    def done(self) -> bool: ...

    def result(self) -> T_co: ...


class DhProvider(Protocol):
    """Computes batches of public values and shared secrets, now or elsewhere."""

    def public_values(self, group: int, privates: Sequence[bytes]) -> DhJob[list[DhOutcome]]: ...

    def shared_secrets(self, group: int, pairs: Sequence[tuple[bytes, bytes]]) -> DhJob[list[DhOutcome]]: ...


class Finished(Generic[T]):
    """A job whose result is already known."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def done(self) -> bool:
        return True

    def result(self) -> T:
        return self._value


class InlineDhProvider:
    """Computes in the calling process, at once (the default)."""

    def public_values(self, group: int, privates: Sequence[bytes]) -> Finished[list[DhOutcome]]:
        return Finished(public_values(group, privates))

    def shared_secrets(self, group: int, pairs: Sequence[tuple[bytes, bytes]]) -> Finished[list[DhOutcome]]:
        return Finished(shared_secrets(group, pairs))


def _result(job: DhJob[list[DhOutcome]], again: Callable[[], DhJob[list[DhOutcome]]]) -> list[DhOutcome]:
    """A job's result; a job its provider cancelled (a pool closed early) is handed out ``again``."""
    try:
        return job.result()
    except Exception as error:
        # only a pool's futures raise CancelledError: concurrent.futures is loaded by then (not at start-up)
        from concurrent.futures import CancelledError

        if not isinstance(error, CancelledError):
            raise
        return again().result()


@dataclass(frozen=True, slots=True)
class PrivateOutcome:
    """One private value that matters to an SA: it matched a KE payload (``side``) and gave
    ``secret``, or it cannot be used at all (``failure``, for any SA of the group)."""

    private: DhPrivate
    side: Side | None
    secret: bytes | None = None
    failure: str | None = None


class DhPrivateIndex:
    """Public value -> positions of the private values that have it, per DH group.

    A group's public values are computed in chunks of ``INDEX_CHUNK`` private values the first time
    the group is asked for (``start``); a lookup waits until every chunk is done, so it finds every
    matching private value, in key-ring order.
    """

    def __init__(self, privates: Sequence[DhPrivate], provider: DhProvider) -> None:
        self.privates = tuple(privates)
        self.provider = provider
        self._jobs: dict[int, deque[tuple[int, DhJob[list[DhOutcome]]]]] = {}  # group -> (first, job)
        self._by_public: dict[int, dict[bytes, list[int]]] = {}
        self._failures: dict[int, list[tuple[int, str]]] = {}  # group -> (position, why), in order

    def start(self, group: int) -> None:
        """Hand the group's public values to the provider (once per group)."""
        if group in self._jobs:
            return
        values = [p.value for p in self.privates]
        self._jobs[group] = deque(
            (first, self.provider.public_values(group, values[first : first + INDEX_CHUNK]))
            for first in range(0, len(values), INDEX_CHUNK)
        )
        self._by_public[group] = {}
        self._failures[group] = []

    def ready(self, group: int) -> bool:
        """Whether the group's index is complete, without waiting (finished chunks are taken in)."""
        self.start(group)
        return self._take(group, wait=False)

    def _take(self, group: int, wait: bool) -> bool:
        jobs, by_public, failures = self._jobs[group], self._by_public[group], self._failures[group]
        while jobs:
            first, job = jobs[0]
            if not wait and not job.done():
                return False
            values = [p.value for p in self.privates[first : first + INDEX_CHUNK]]
            outcomes = _result(job, lambda: self.provider.public_values(group, values))  # noqa: B023
            for offset, outcome in enumerate(outcomes):
                if isinstance(outcome, DhFailure):
                    failures.append((first + offset, outcome.message))
                else:
                    by_public.setdefault(outcome, []).append(first + offset)
            jobs.popleft()
        return True

    def lookup(
        self, group: int, g_xi: bytes, g_xr: bytes, *, wait: bool = True
    ) -> list[tuple[int, Side]] | None:
        """Positions of the private values whose public value is g_xi ("initiator") or else g_xr
        ("responder"), in key-ring order; None when ``wait`` is False and the index is not complete."""
        self.start(group)
        if not self._take(group, wait):
            return None
        by_public = self._by_public[group]
        initiator: Side = "initiator"
        responder: Side = "responder"
        hits = [(position, initiator) for position in by_public.get(g_xi, ())]
        if g_xr != g_xi:
            hits += [(position, responder) for position in by_public.get(g_xr, ())]
        return sorted(hits)

    def failures(self, group: int) -> list[tuple[int, str]]:
        """(position, why) of the private values unusable in this group; call after ``lookup``."""
        return self._failures.get(group, [])

    def use_provider(self, provider: DhProvider) -> None:
        """Go on with another provider (chunks the old one cancelled are computed again by it)."""
        self.provider = provider


class DhPrivateSecrets:
    """g^xy candidates from the key ring's private DH values, for IKE SAs and PFS quick modes.

    ``outcomes`` gives, for one SA's KE pair, every private value that matched with its g^xy, and
    every private value unusable in the group, in key-ring order, as the key schedule wants them.
    ``anticipate`` asks for the same work early without waiting: the g^xy values it gets going are
    kept (at most ``MAX_AHEAD``) for the ``outcomes`` call that needs them.
    """

    def __init__(self, privates: Sequence[DhPrivate], provider: DhProvider | None = None) -> None:
        self.provider: DhProvider = provider or InlineDhProvider()
        self.index = DhPrivateIndex(privates, self.provider)
        self._ahead: OrderedDict[tuple[int, int, bytes], tuple[DhJob[list[DhOutcome]], int, tuple]] = (
            OrderedDict()
        )
        self._waiting: deque[tuple[int, bytes, bytes]] = deque(maxlen=MAX_AHEAD)  # until the index is done
        self._unsent: dict[int, list[tuple[int, int, bytes]]] = {}  # group -> keys of the next job
        self._unsent_keys: set[tuple[int, int, bytes]] = set()

    @property
    def privates(self) -> tuple[DhPrivate, ...]:
        return self.index.privates

    def use_provider(self, provider: DhProvider | None) -> None:
        """Compute with ``provider`` (None: in-line) from now on; work asked ahead is dropped."""
        self.provider = provider or InlineDhProvider()
        self.index.use_provider(self.provider)
        self._ahead.clear()
        self._waiting.clear()
        self._unsent.clear()
        self._unsent_keys.clear()

    def anticipate(self, group: int, ke_a: bytes, ke_b: bytes) -> None:
        """Start the g^xy computations an SA with these two KE payloads will need; never waits."""
        if not self.privates:
            return
        self._waiting.append((group, ke_a, ke_b))
        self._submit_waiting()

    def _submit_waiting(self, everything: bool = False) -> None:
        """Hand the g^xy of SAs asked for ahead to the provider, ``SECRETS_PER_JOB`` at a time
        (``everything``: the last, smaller job of each group too)."""
        while self._waiting:
            group, ke_a, ke_b = self._waiting[0]
            hits = self.index.lookup(group, ke_a, ke_b, wait=False)
            if hits is None:
                break  # the index is not complete: later
            self._waiting.popleft()
            for position, side in hits:
                key = (group, position, ke_b if side == "initiator" else ke_a)
                if key not in self._ahead and key not in self._unsent_keys:
                    self._unsent.setdefault(group, []).append(key)
                    self._unsent_keys.add(key)
        for group, keys in list(self._unsent.items()):
            while len(keys) >= SECRETS_PER_JOB or (keys and everything):
                batch, keys[:] = keys[:SECRETS_PER_JOB], keys[SECRETS_PER_JOB:]
                pairs = tuple((self.privates[position].value, peer) for _, position, peer in batch)
                job = self.provider.shared_secrets(group, pairs)
                for offset, key in enumerate(batch):
                    self._ahead[key] = (job, offset, pairs)
                    self._unsent_keys.discard(key)
            if not keys:
                del self._unsent[group]
        while len(self._ahead) > MAX_AHEAD:
            self._ahead.popitem(last=False)

    def outcomes(self, group: int, g_xi: bytes, g_xr: bytes) -> list[PrivateOutcome]:
        """Matches (with g^xy or why not) and unusable private values, in key-ring order; waits."""
        if not self.privates:
            return []
        hits = self.index.lookup(group, g_xi, g_xr)
        assert hits is not None
        keys = [(group, position, g_xr if side == "initiator" else g_xi) for position, side in hits]
        self._submit_waiting()
        if any(key in self._unsent_keys for key in keys):  # asked ahead, not handed out yet: now
            self._submit_waiting(everything=True)
        found: list[tuple[int, PrivateOutcome]] = [
            (position, PrivateOutcome(self.privates[position], None, failure=why))
            for position, why in self.index.failures(group)
        ]
        for (position, side), key in zip(hits, keys, strict=True):
            peer = key[2]
            ahead = self._ahead.pop(key, None)
            if ahead is None:
                pairs = ((self.privates[position].value, peer),)
                ahead = (self.provider.shared_secrets(group, pairs), 0, pairs)
            job, offset, pairs = ahead
            outcome = _result(job, lambda: self.provider.shared_secrets(group, pairs))[offset]  # noqa: B023
            if isinstance(outcome, DhFailure):
                found.append(
                    (position, PrivateOutcome(self.privates[position], side, failure=outcome.message))
                )
            else:
                found.append((position, PrivateOutcome(self.privates[position], side, secret=outcome)))
        found.sort(key=lambda item: item[0])
        return [outcome for _, outcome in found]
