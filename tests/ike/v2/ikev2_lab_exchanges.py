"""Test helper: the lab's strongSwan IKEv2 captures as exchanges (request, response) with what key
derivation and AUTH need: SPIs, nonces, the chosen transforms, decrypted inner payloads.

A deliberately small reader (the real IKEv2 payload decoders and engine live elsewhere); the charon
logs are read with the lab's own captures/lab/ikev2_keys.py.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ikev2_reference import SK, SKF, ike_messages, payload_chain

from ikedecode.ike.v2.keymat import Ikev2Keys
from ikedecode.ike.v2.protection import OpenedPayload, open_sk, open_skf, reassemble_fragments

PROJECT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(PROJECT / "captures" / "lab"))
import ikev2_keys  # noqa: E402  (lab tooling, standard library only)

SA, KE, IDI, IDR, CERT, AUTH, NONCE, NOTIFY = 33, 34, 35, 36, 37, 39, 40, 41
IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA = 34, 35, 36


@dataclass
class Message:
    frame: int
    raw: bytes
    inner: list[tuple[int, int, bytes]] = field(default_factory=list)  # (type, offset, body)
    opened: list[OpenedPayload] = field(default_factory=list)

    @property
    def spis(self) -> tuple[bytes, bytes]:
        return self.raw[:8], self.raw[8:16]

    @property
    def exchange(self) -> int:
        return self.raw[18]

    @property
    def is_response(self) -> bool:
        return bool(self.raw[19] & 0x20)

    @property
    def from_initiator(self) -> bool:
        return bool(self.raw[19] & 0x08)

    @property
    def message_id(self) -> int:
        return int.from_bytes(self.raw[20:24], "big")

    def clear(self) -> list[tuple[int, int, bytes]]:
        return payload_chain(self.raw, self.raw[16], 28)

    def payloads(self, kind: int) -> list[bytes]:
        return [body for k, _, body in self.clear() + self.inner if k == kind]


def chosen_transforms(sa_body: bytes) -> tuple[bytes, dict[int, tuple[int, int | None]]]:
    """(proposal SPI, {transform type: (id, key length bits)}) of the first proposal."""
    proposal = sa_body[: int.from_bytes(sa_body[2:4], "big")]
    spi_size, count = proposal[6], proposal[7]
    spi = proposal[8 : 8 + spi_size]
    offset, out = 8 + spi_size, {}
    for _ in range(count):
        length = int.from_bytes(proposal[offset + 2 : offset + 4], "big")
        kind, tid = proposal[offset + 4], int.from_bytes(proposal[offset + 6 : offset + 8], "big")
        attrs, bits = proposal[offset + 8 : offset + length], None
        if len(attrs) >= 4 and int.from_bytes(attrs[:2], "big") == 0x800E:  # Key Length (TV)
            bits = int.from_bytes(attrs[2:4], "big")
        out.setdefault(kind, (tid, bits))
        offset += length
    return spi, out


def algorithms(transforms: dict[int, tuple[int, int | None]]) -> dict[str, int | None]:
    encr_id, bits = transforms[1]
    return {
        "prf_id": transforms[2][0],
        "encr_id": encr_id,
        "encr_key_bits": bits,
        "integ_id": transforms.get(3, (None,))[0] or None,
    }


def load_messages(capture: Path) -> list[Message]:
    return [Message(frame, raw) for frame, raw in ike_messages(capture)]


def exchanges(messages: list[Message], kind: int) -> list[tuple[Message, Message]]:
    """(request, response) pairs of one exchange type: same SPIi and message ID, the last request
    before the response (retransmissions and INVALID_KE / COOKIE restarts use the last one)."""
    pairs = []
    for index, response in enumerate(messages):
        if response.exchange != kind or not response.is_response:
            continue
        for request in reversed(messages[:index]):
            if (
                request.exchange == kind
                and not request.is_response
                and request.spis[0] == response.spis[0]
                and request.message_id == response.message_id
            ):
                pairs.append((request, response))
                break
    return pairs


def open_all(messages: list[Message], keys: Ikev2Keys) -> list[Message]:
    """Open the SK/SKF payloads of every message of this IKE SA; fragments are reassembled into
    the message that carries the last one. Returns the messages with their inner payloads."""
    spis = None
    out, pending = [], {}
    for message in messages:
        if spis is None:
            spis = message.spis
        found = [(k, off) for k, off, _ in message.clear() if k in (SK, SKF)]
        if not found:
            continue
        kind, offset = found[0]
        sk_e, sk_a = keys.sender_keys(message.from_initiator)
        args = {"encr_id": keys.encr_id, "sk_e": sk_e, "integ_id": keys.integ_id, "sk_a": sk_a}
        opened = (open_sk if kind == SK else open_skf)(message.raw, offset, **args)
        message.opened.append(opened)
        if kind == SK:
            message.inner = payload_chain(opened.plaintext, opened.next_payload, 0) if opened.ok else []
            out.append(message)
            continue
        key = (message.message_id, message.is_response)
        pending.setdefault(key, []).append(opened)
        whole = reassemble_fragments(pending[key])
        if whole.complete:
            message.inner = payload_chain(whole.plaintext, whole.next_payload, 0)
            message.opened = pending.pop(key)
            out.append(message)
    return out


def key_file(name: str) -> dict:
    return tomllib.loads((PROJECT / "keys" / f"{name}.toml").read_text())


def charon_log(name: str) -> ikev2_keys.CharonLog:
    """West's charon log, or east's where west ran another daemon (ikev2-libreswan: pluto)."""
    west = PROJECT / "keys" / f"{name}.west.log.gz"
    return ikev2_keys.parse_charon_log(west if west.exists() else PROJECT / "keys" / f"{name}.east.log.gz")
