"""IKEv2 fuzz targets (issue 14): header, payload chains, the engine without and with keys, the
engine behind decryption (mutated plaintext sealed again with the SA's real keys), and RFC 7383
fragments reassembled.

Seeds are the IKEv2 lab captures with their key files (and the Wireshark IKEv2 reference captures
with ``ikev2_decryption_table`` when ``../shared/reference`` is present). The IKEv2 engine is
driven through ``IkeEngine`` (its version dispatcher, as the pipeline does), with the shared
checks of ``targets.py``: no exception, no guard tripped, reports render without leaking keys.
"""

from __future__ import annotations

import json

from ikedecode.ike.header import HEADER_LENGTH
from ikedecode.ike.payload_chain import MAX_PAYLOADS
from ikedecode.ike.registry import ikev2 as reg
from ikedecode.ike.v2.exchanges import message_label
from ikedecode.ike.v2.payloads import ENCRYPTED_TYPES, parse_ikev2_payloads
from ikedecode.keys.keyring import KeyRing

from . import corpus
from .ikev2_seal import can_seal, pad, seal
from .targets import (
    TARGETS,
    Target,
    _pick,
    check,
    ike_header,
    run_replaced,
    run_session,
)

MAX_FRAGMENTS = 8  # fragments the fragment target cuts a message into (1..8)


# -- header and payload chains --------------------------------------------------------------------


def ikev2_header(data: bytes) -> None:
    """The shared ISAKMP header parser on IKEv2 messages: flags I/V/R, message ID, exchange names."""
    header = ike_header(data)
    if header is not None and header.is_ikev2:
        label = message_label(header.exchange_type, bool(header.is_response))
        check(label.endswith(("request", "response")), f"bad message label {label!r}")
        check(all(isinstance(name, str) for name in header.flag_names), "flag names are not texts")


def ikev2_header_seeds() -> list[bytes]:
    return list(dict.fromkeys(d.payload for s in corpus.ikev2_sessions() for d in s.ike))


def ikev2_payloads(data: bytes) -> None:
    """``parse_ikev2_payloads``: first payload type, inner flag, a chain (clear and decrypted seeds)."""
    if len(data) < 2:
        return
    first, inner, body = data[0], bool(data[1] & 1), data[2:]
    base = 0 if inner else HEADER_LENGTH
    chain = parse_ikev2_payloads(first, body, base, inner=inner)
    chain.summary()
    check(len(chain.payloads) <= MAX_PAYLOADS, "payload count beyond MAX_PAYLOADS")
    position = base
    for payload in chain.payloads:
        payload.summary()
        json.dumps(payload.to_dict(), default=str)
        check(payload.offset == position and payload.end <= base + len(body), "payload outside the chain")
        position = payload.end
    check(all(isinstance(p, str) and p.strip() for p in chain.problems), "empty problem text")
    encrypted = [p for p in chain.payloads if p.type in ENCRYPTED_TYPES]
    check(not encrypted or chain.payloads[-1] is encrypted[0], "payloads decoded after SK / SKF")


def ikev2_payload_seeds() -> list[bytes]:
    return [bytes([first, int(inner)]) + body for first, body, inner in corpus.ikev2_payload_chains()]


# -- the engine -----------------------------------------------------------------------------------


def _session_input(data: bytes, keyed: bool) -> tuple[corpus.Session, int, int, bytes] | None:
    pool = corpus.ikev2_sessions(keyed)
    if len(data) < 3 or not pool:
        return None
    session = _pick(pool, data[0])
    return session, data[1] % len(session.ike), data[2], data[3:]


def _session_seeds(keyed: bool) -> list[bytes]:
    return [
        bytes([number, index, 2 if index % 3 == 0 else 0]) + datagram.payload
        for number, session in enumerate(corpus.ikev2_sessions(keyed))
        for index, datagram in enumerate(session.ike)
    ]


def ikev2_engine_clear(data: bytes) -> None:
    """No keys: SA proposals, KE, nonces, notifies, NAT detection, restarts, retransmissions."""
    decoded = _session_input(data, keyed=False)
    if decoded is not None:
        session, index, flags, message = decoded
        run_session(session, index, message, KeyRing(), flags)


def ikev2_engine_keys(data: bytes) -> None:
    """The capture's keys (g^ir, SK_* from the logs or Wireshark's table); ciphertext-level mutations
    (ICV checks, wrong-key findings, truncation, key candidates)."""
    decoded = _session_input(data, keyed=True)
    if decoded is not None:
        session, index, flags, message = decoded
        run_session(session, index, message, session.keyring(), flags)


# -- behind decryption: mutated plaintext sealed again ---------------------------------------------


def _sealable() -> tuple[corpus.Session, ...]:
    return tuple(
        s
        for s in corpus.ikev2_sessions(keyed=True)
        if any(can_seal(p.encr_id, p.integ_id) for p in s.ikev2_plaintexts.values())
    )


def _opened_at(session: corpus.Session, selector: int) -> tuple[int, corpus.Ikev2Plaintext] | None:
    choices = [(i, p) for i, p in sorted(session.ikev2_plaintexts.items()) if can_seal(p.encr_id, p.integ_id)]
    return _pick(choices, selector) if choices else None


def ikev2_engine_plaintext(data: bytes) -> None:
    """Real keys; the mutated message is the IKE header, clear payloads, the SK / SKF header and the
    *plaintext* inner chain, sealed with the sender's SK_e / SK_a and the IV of the clean run, so
    mutations reach the inner payload decoders, AUTH verification and Child SA keying.
    Selector: session, which opened message, flags (``run_session``), options: 1 the plaintext
    carries its own padding and pad length, 2 leave the length fields as given, 4 extra padding."""
    pool = _sealable()
    if len(data) < 4 or not pool:
        return
    session = _pick(pool, data[0])
    chosen = _opened_at(session, data[1])
    if chosen is None:
        return
    index, opened = chosen
    flags, options, body = data[2], data[3], data[4:]
    head, plaintext = body[: opened.head_size], body[opened.head_size :]
    if len(head) < opened.head_size:
        run_session(session, index, body, session.keyring(), flags)
        return
    if options & 1:  # the input's own padding: cut to whole blocks, at least one
        block = max(1, len(pad(opened.encr_id, b"")))
        padded = plaintext[: len(plaintext) - len(plaintext) % block] or bytes(block)
    else:
        padded = pad(opened.encr_id, plaintext, 16 * bool(options & 4))
    message = seal(
        head,
        padded,
        encr_id=opened.encr_id,
        sk_e=opened.sk_e,
        integ_id=opened.integ_id,
        sk_a=opened.sk_a,
        iv=opened.iv,
        fix_lengths=not options & 2,
        sk_offset=opened.sk_offset,
    )
    run_session(session, index, message, session.keyring(), flags)


def ikev2_plaintext_seeds() -> list[bytes]:
    seeds = []
    for number, session in enumerate(_sealable()):
        choices = [i for i, p in sorted(session.ikev2_plaintexts.items()) if can_seal(p.encr_id, p.integ_id)]
        for position, index in enumerate(choices):
            opened = session.ikev2_plaintexts[index]
            message = session.ike[index].payload
            head = message[: opened.head_size]
            seeds.append(
                bytes([number, position, 2 if position % 3 == 0 else 0, 0]) + head + opened.plaintext
            )
    return seeds


# -- RFC 7383 fragments ---------------------------------------------------------------------------


def _fragment_groups(session: corpus.Session) -> list[list[int]]:
    """Indices of the SKF messages of one fragmented message (same message ID and direction),
    in capture order; retransmitted sets fall into the group of their message."""
    groups: dict[tuple[bytes, int], list[int]] = {}
    for index, opened in sorted(session.ikev2_plaintexts.items()):
        if opened.fragment and can_seal(opened.encr_id, opened.integ_id):
            message = session.ike[index].payload
            groups.setdefault((message[20:24], message[19] & 0x28), []).append(index)
    return list(groups.values())


def _fragment_pool() -> tuple[corpus.Session, ...]:
    return tuple(s for s in corpus.ikev2_sessions(keyed=True) if _fragment_groups(s))


def ikev2_fragments(data: bytes) -> None:
    """A whole inner chain cut into SKF fragments (RFC 7383 2.5), each sealed with its own ICV, sent
    in place of a real fragmented message. Selector: session, group, flags (``run_session``),
    options: count = 1 + options % 8; 8 drop one, 16 send one twice, 32 reverse the order, 64 one
    fragment claims another total, 128 fragment 1 names no next payload."""
    pool = _fragment_pool()
    if len(data) < 5 or not pool:
        return
    session = _pick(pool, data[0])
    group = _pick(_fragment_groups(session), data[1])
    flags, options, victim, whole = data[2], data[3], data[4], data[5:]
    first = session.ikev2_plaintexts[group[0]]
    original = session.ike[group[0]].payload
    total = 1 + options % MAX_FRAGMENTS
    size = max(1, -(-len(whole) // total))
    pieces = [whole[n * size : (n + 1) * size] for n in range(total)]
    header = bytearray(original[:HEADER_LENGTH])
    header[16] = reg.PT_SKF
    messages = []
    for number, piece in enumerate(pieces, 1):
        claimed = total + 1 if options & 64 and number == 1 + victim % total else total
        next_payload = first.next_payload if number == 1 and not options & 128 else 0
        skf = bytes([next_payload, 0, 0, 0]) + number.to_bytes(2, "big") + claimed.to_bytes(2, "big")
        messages.append(
            seal(
                bytes(header) + skf,
                pad(first.encr_id, piece),
                encr_id=first.encr_id,
                sk_e=first.sk_e,
                integ_id=first.integ_id,
                sk_a=first.sk_a,
                iv=first.iv,
                sk_offset=HEADER_LENGTH,
            )
        )
    if options & 8 and len(messages) > 1:
        del messages[victim % len(messages)]
    if options & 16:
        messages.insert(victim % len(messages), messages[victim % len(messages)])
    if options & 32:
        messages.reverse()
    replacements: dict[int, list[bytes]] = {index: [] for index in group}
    replacements[group[0]] = messages
    run_replaced(session, replacements, session.keyring(), flags, group[0])


def ikev2_fragment_seeds() -> list[bytes]:
    seeds = []
    for number, session in enumerate(_fragment_pool()):
        for position, group in enumerate(_fragment_groups(session)):
            opened = [session.ikev2_plaintexts[i] for i in group]
            total = opened[0].total_fragments or len(group)
            pieces = {p.fragment_number: p.plaintext for p in opened}
            whole = b"".join(pieces.get(n, b"") for n in range(1, total + 1))
            seeds.append(bytes([number, position, 0, (total - 1) % MAX_FRAGMENTS, 0]) + whole)
    return seeds


IKEV2_TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("v2-header", "ike.header.parse_header (IKEv2)", ikev2_header, ikev2_header_seeds, 0),
        Target(
            "v2-payloads",
            "ike.v2.payloads.parse_ikev2_payloads",
            ikev2_payloads,
            ikev2_payload_seeds,
            2,
        ),
        Target(
            "v2-engine-clear",
            "ike.v2.engine.Ikev2Engine.receive (no keys)",
            ikev2_engine_clear,
            lambda: _session_seeds(False),
            3,
        ),
        Target(
            "v2-engine-keys",
            "ike.v2.engine.Ikev2Engine.receive (real keys)",
            ikev2_engine_keys,
            lambda: _session_seeds(True),
            3,
        ),
        Target(
            "v2-engine-plaintext",
            "ike.v2.engine.Ikev2Engine.receive (re-sealed plaintext)",
            ikev2_engine_plaintext,
            ikev2_plaintext_seeds,
            4,
        ),
        Target(
            "v2-fragments",
            "ike.v2.engine + protection.reassemble_fragments (re-sealed SKF)",
            ikev2_fragments,
            ikev2_fragment_seeds,
            5,
        ),
    )
}
TARGETS.update(IKEV2_TARGETS)
