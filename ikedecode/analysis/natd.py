"""NAT-D payloads recomputed from the addresses and ports on the wire (RFC 3947 section 3.2).

    HASH = HASH(CKY-I | CKY-R | IP | Port)

with the negotiated hash (not the prf): no key is needed. The sender puts the hash of the
destination it sends to first, then one hash per local address it may send from. A receiver, or a
capture, comparing them with the packet's real addresses learns whether something rewrote either
end on the way: the destination hash not matching means the *receiver's* address was rewritten
(a NAT in front of the receiver, between the sender and the capture point); no source hash
matching means the *sender's* address was rewritten (a NAT in front of the sender) - or the
sender deliberately sent a hash that cannot match, to force UDP encapsulation (RFC 3947 allows
it; strongSwan's ``encap = yes`` does this).
"""

from __future__ import annotations

from dataclasses import dataclass

from ikedecode.ike.crypto_errors import UnsupportedAlgorithm
from ikedecode.ike.natd import natd_hash
from ikedecode.ike.prf import digest_size

Endpoint = tuple[str, int]  # (address, UDP port)


@dataclass(frozen=True, slots=True)
class NatDCheck:
    """What one message's NAT-D payloads say about the path between its sender and the capture."""

    frame: int
    sender: Endpoint  # as seen on the wire
    receiver: Endpoint
    receiver_matches: bool  # the first NAT-D (destination) equals the hash of the receiver seen
    sender_matches: bool  # one of the other NAT-D payloads equals the hash of the sender seen
    hashes: int  # NAT-D payloads in the message

    @property
    def sender_rewritten(self) -> bool:
        return not self.sender_matches

    @property
    def receiver_rewritten(self) -> bool:
        return not self.receiver_matches


def check_natd(
    hash_id: int,
    cky_i: bytes,
    cky_r: bytes,
    hashes: list[bytes],
    frame: int,
    sender: Endpoint,
    receiver: Endpoint,
    also_sender: tuple[Endpoint, ...] = (),
    also_receiver: tuple[Endpoint, ...] = (),
) -> NatDCheck | None:
    """Compare a message's NAT-D hashes with the endpoints seen; None when they cannot be checked
    (no NAT-D, an unsupported hash, or hashes of the wrong length).

    ``also_*`` are other endpoints the same peer used earlier in the exchange (aggressive mode's
    third message is hashed over the first messages' ports although it may float to 4500).
    """
    if not hashes:
        return None
    try:
        size = digest_size(hash_id)
    except UnsupportedAlgorithm:
        return None
    if any(len(h) != size for h in hashes):
        return None

    def matches(candidates: tuple[Endpoint, ...], against: list[bytes]) -> bool:
        return any(natd_hash(hash_id, cky_i, cky_r, ip, port) in against for ip, port in candidates)

    return NatDCheck(
        frame=frame,
        sender=sender,
        receiver=receiver,
        receiver_matches=matches((receiver, *also_receiver), hashes[:1]),
        sender_matches=matches((sender, *also_sender), hashes[1:]),
        hashes=len(hashes),
    )
