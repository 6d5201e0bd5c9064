"""Lanes: the fast path that opens and counts the usual packets of a batch, flow by flow.

The bulk of any capture is authentic packets of an ordinary SA (one SA for the flow, no ESN, a
cipher the backend has) with a sound trailer and nothing to write or open further. A *lane*
(``open_lane``) opens such a flow's packets of a batch in one loop on local names and only counts
them into a ``LaneGroup``; anything unusual is *deferred* to ``EspOpener.open``, which says why.
``summarize_spans`` (``esp/batch_summary.py``) puts both together: a batch's outcomes condensed to
*singles* (accounted one by one) and *groups* (per-SA counters), for
``EspProcessor.account_summary``.

The interface to the rest of ESP is small: ``EspOpener.lane`` decides which flow qualifies and
calls ``open_lane`` with the SA's keyed cipher state (``EspCrypto``); ``summarize_spans`` reads
the opener's lane cache and its ``open`` for the rest. Lanes must count exactly what the general
path counts (tests/esp/test_lanes_count_like_the_general_path.py).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from ikedecode.esp.batch_summary import (
    G_BAD_PADDING,
    G_BYTES,
    G_DECRYPTED,
    G_FIRST_POSITION,
    G_LAST_POSITION,
    G_PACKETS,
    G_SEQUENCES,
    G_TRANSPORT,
    G_TUNNEL,
    G_VERIFIED,
)
from ikedecode.esp.ciphers import ESP_HEADER, EspCrypto
from ikedecode.esp.inner import IPSEC_PROTOCOLS, PADDINGS, TUNNEL_NEXT_HEADERS, carries_ipsec
from ikedecode.esp.outcome import (
    OUTCOME_OPENED,
    Outcome,
)
from ikedecode.esp.plaintext import plaintext_problem

# lane(view, positions, esp_starts, esp_ends, deferred): see open_lane
Lane = Callable[[memoryview, Iterable[int], Sequence[int], Sequence[int], list], None]
_SEQ = struct.Struct("!I")
_INNER_IPV4 = struct.Struct("!BxH5xB")  # version | IHL, total length, protocol (RFC 791)
TRAILER_BYTES = 32  # of a CBC packet's plaintext decrypted for its trailer: pad lengths up to 30


def no_lane(
    view: memoryview,
    positions: Iterable[int],
    starts: Sequence[int],
    ends: Sequence[int],
    deferred: list[int],
) -> None:
    """The stand-in of a flow that takes no lane: every packet goes to ``EspOpener.open``."""
    deferred.extend(positions)


def open_lane(
    crypto: EspCrypto,
    index: int,
    spi: int,
    fixed_mode: str | None,
    *,
    want_plaintext: bool,
    check_padding: bool,
    touched: list[LaneGroup],
    singles: list[tuple[int, Outcome]],
) -> Lane:
    """A function that opens and counts the packets of one flow fast (``summarize_spans``): the
    flow of SPI ``spi`` whose only SA is the one at ``index`` in the database, keyed as ``crypto``,
    in mode ``fixed_mode`` (None: each packet's next header says).

    ``lane(view, positions, starts, ends, deferred)`` takes the batch positions of the flow's
    packets (ESP at ``view[starts[p]:ends[p]]``) in order: it counts the usual packet into its
    group (see ``LaneGroup``; the group joins ``touched`` at its first packet of a batch), adds
    ``(position, outcome)`` to ``singles`` for a packet that must be accounted alone (its
    plaintext is wanted, or it carries another ESP/AH layer), and adds to ``deferred`` the
    position of anything unusual (an ICV failure, a structural problem) so that
    ``EspOpener.open`` handles it and says why. One call per flow and batch: the per-packet loop
    runs inside, on local names.
    """
    min_length = crypto.min_length
    seq_at = _SEQ.unpack_from
    paddings = PADDINGS
    tunnel_headers = TUNNEL_NEXT_HEADERS
    group = LaneGroup(index, spi, fixed_mode)
    counts = group.counts
    positions = positions_seen = group.positions
    sequences = group.sequences
    ipsec = IPSEC_PROTOCOLS
    judged = plaintext_problem

    def count(
        view: memoryview,
        start: int,
        end: int,
        position: int,
        icv_ok: bool | None,
        plaintext: bytes,
        skip: int,
    ) -> bool:
        """The trailer of ``plaintext[skip:]`` (RFC 4303 section 2.4-2.6), then count the packet
        or make it a single; False when ``open`` must look at it.

        Per packet only what varies is recorded (position, sequence number, size); the group
        derives the rest (``LaneGroup.merge_into``), and counts the unusual when it happens."""
        pad_length = plaintext[-2]
        next_header = plaintext[-1]
        payload_end = len(plaintext) - 2 - pad_length
        if payload_end < skip:
            return False
        padding_ok = not check_padding or plaintext[payload_end:-2] == paddings[pad_length]
        if next_header == 4 and icv_ok:
            # the bulk, an authentic tunnel packet: esp/plaintext.py's IPv4 check for authentic
            # packets (no checksum; padding need not agree), inlined
            if payload_end - skip < 20:
                return False
            ihl = (plaintext[skip] - 0x40) * 4
            if (
                not 20 <= ihl <= 60
                or not ihl <= (plaintext[skip + 2] << 8 | plaintext[skip + 3]) <= payload_end - skip
            ):
                return False  # garbled (a wrong encryption key?): ``open`` says which check failed
        elif judged(plaintext, skip, payload_end, next_header, padding_ok, icv_ok is True):
            return False  # garbled: ``open`` says which check failed
        if want_plaintext or (
            next_header in ipsec
            or (next_header == 4 and payload_end - skip >= 20 and plaintext[skip + 9] in ipsec)
            or (next_header == 41 and carries_ipsec(next_header, plaintext, skip, payload_end))
        ):
            singles.append((position, (  # the OUTCOME_OPENED layout of esp/outcome.py
                OUTCOME_OPENED, spi, seq_at(view, start + 4)[0], index, None, icv_ok, "", pad_length,
                next_header, plaintext[skip:payload_end], padding_ok, None,
            )))  # fmt: skip
            return True
        positions.append(position)  # the lane adds the group to ``touched`` when it is done
        sequences.append(seq_at(view, start + 4)[0])
        counts[G_BYTES] += end - start
        if not icv_ok:
            counts[G_DECRYPTED] += 1
        if fixed_mode is None and next_header not in tunnel_headers:
            counts[G_TRANSPORT] += 1
        if not padding_ok:
            counts[G_BAD_PADDING] += 1
        return True

    positions_add = positions.append
    sequences_add = sequences.append
    inner_at = _INNER_IPV4.unpack_from

    aead = crypto.aead_parts()
    if aead is not None:
        # RFC 4106 section 5 (4309, 7634 alike): nonce = salt | IV, AAD = SPI | sequence number
        aead_decrypt, salt, iv_size, tag_size = aead
        minimum = ESP_HEADER + iv_size + tag_size + 2

        def opened_aead(
            view: memoryview, positions: Iterable[int], starts: Sequence[int], ends: Sequence[int],
            deferred: list[int],
        ) -> None:  # fmt: skip
            blob = cast(bytes, view.obj)  # bytes slices of it are cheaper than memoryview slices
            counted = 0
            for position in positions:
                start = starts[position]
                end = ends[position]
                if end - start >= minimum:
                    iv_end = start + ESP_HEADER + iv_size
                    try:
                        plaintext = aead_decrypt(
                            salt + blob[start + ESP_HEADER : iv_end],
                            view[iv_end:end],
                            blob[start : start + ESP_HEADER],
                        )
                        # the usual packet, inlined: what ``count`` would only count
                        pad_length = plaintext[-2]
                        payload_end = len(plaintext) - 2 - pad_length
                        if (
                            plaintext[-1] == 4
                            and payload_end >= 20
                            and not want_plaintext
                            and (not check_padding or plaintext[payload_end:-2] == paddings[pad_length])
                        ):
                            version_ihl, total_length, protocol = inner_at(plaintext)
                            if (
                                version_ihl == 0x45
                                and 20 <= total_length <= payload_end
                                and protocol != 50
                                and protocol != 51
                            ):
                                positions_add(position)
                                sequences_add(seq_at(blob, start + 4)[0])
                                counted += end - start
                                continue
                        if count(view, start, end, position, True, plaintext, 0):
                            continue
                    except Exception:  # noqa: BLE001, S110 - InvalidTag: ``open`` says so
                        pass
                deferred.append(position)
            counts[G_BYTES] += counted
            if positions_seen:
                touched.append(group)

        return opened_aead

    cbc_hmac = crypto.cbc_hmac_parts()
    if cbc_hmac is not None:
        # open_span inlined for the commonest suites (AES/3DES-CBC + HMAC)
        hmac_base, cbc_update, block, icv_size = cbc_hmac
        hmac_copy = cast(Any, hmac_base).copy  # a keyed cryptography HMAC
        iv_size = crypto.iv_size
        data_start = ESP_HEADER + iv_size
        # Only what the usual packet is judged on is decrypted, for every packet of the run in
        # one call: per packet a *piece* of its IV and the ciphertext blocks that hold the inner
        # IPv4 header's first 10 bytes (version, lengths, protocol), then one chaining block
        # and the blocks that hold the last TRAILER_BYTES of plaintext (padding, pad length,
        # next header). CBC decrypts block i as D(C_i) XOR C_(i-1) (NIST SP 800-38A section
        # 6.2), so each piece's first block only chains the next ones: the IV block yields the
        # first plaintext blocks, the chaining block the last ones, whatever came before in
        # the call. The whole packet is decrypted only when its plaintext is wanted or it is
        # not the usual one (``count`` then judges it).
        front = block * (1 + -(-_INNER_IPV4.size // block))  # the IV, then the inner header's blocks
        back = block * (1 + -(-TRAILER_BYTES // block))  # a chaining block, then the trailer's
        piece = front + back
        shortest_piece = max(front, back)  # IV | ciphertext at least this long: the piece is in it
        largest_pad = back - block - 2  # padding that lies in the trailer's blocks
        to_payload = block - back - front  # from a piece's end to its packet's payload
        pieces_fit = iv_size == block  # CBC ciphers: the IV is one block

        def opened_cbc(
            view: memoryview, positions: Iterable[int], starts: Sequence[int], ends: Sequence[int],
            deferred: list[int],
        ) -> None:  # fmt: skip
            blob = cast(bytes, view.obj)
            pieces: list[bytes] = []
            if pieces_fit and not want_plaintext:
                add_piece = pieces.append
                for position in positions:
                    iv_start = starts[position] + ESP_HEADER
                    body_end = ends[position] - icv_size
                    if body_end - iv_start >= shortest_piece and not (body_end - iv_start) % block:
                        add_piece(blob[iv_start : iv_start + front])
                        add_piece(blob[body_end - back : body_end])
            try:
                out = cbc_update(b"".join(pieces)) if pieces else b""
            except Exception:  # noqa: BLE001 - ``open`` tries again and says why
                deferred.extend(positions)
                return
            piece_end = 0  # where the current packet's piece ends in ``out``
            counted = 0
            for position in positions:
                start = starts[position]
                end = ends[position]
                body_end = end - icv_size
                ciphertext = body_end - start - data_start
                if ciphertext >= block and not ciphertext % block:
                    in_pieces = pieces and ciphertext + iv_size >= shortest_piece  # as gathered above
                    if in_pieces:
                        piece_end += piece
                    try:
                        h = hmac_copy()
                        h.update(view[start:body_end])
                        # ``==``, not a constant-time compare: nothing here is secret from the
                        # capture's reader, and the ICV is a captured value
                        authentic = h.finalize()[:icv_size] == blob[body_end:end]
                        if in_pieces:
                            if not authentic:
                                deferred.append(position)
                                continue
                            pad_length = out[piece_end - 2]
                            next_header = out[piece_end - 1]
                            payload_length = ciphertext - 2 - pad_length
                            if next_header == 4:
                                # the usual packet, inlined: what ``count`` would only count
                                if (
                                    payload_length >= 20
                                    and pad_length <= largest_pad  # the padding is in the piece
                                    and (
                                        not check_padding
                                        or out[piece_end - 2 - pad_length : piece_end - 2]
                                        == paddings[pad_length]
                                    )
                                ):
                                    version_ihl, total_length, protocol = inner_at(
                                        out, piece_end + to_payload
                                    )
                                    if (
                                        version_ihl == 0x45
                                        and 20 <= total_length <= payload_length
                                        and protocol != 50
                                        and protocol != 51
                                    ):
                                        positions_add(position)
                                        sequences_add(seq_at(blob, start + 4)[0])
                                        counted += end - start
                                        continue
                            elif (
                                payload_length >= 0
                                and pad_length <= largest_pad
                                and next_header != 41
                                and next_header != 50
                                and next_header != 51
                            ):
                                # transport mode and the like: ``count`` on the piece (its checks
                                # read at most the payload's first 14 bytes)
                                padding_ok = (
                                    not check_padding
                                    or out[piece_end - 2 - pad_length : piece_end - 2] == paddings[pad_length]
                                )
                                payload_start = piece_end + to_payload
                                if judged(
                                    out, payload_start, payload_start + payload_length, next_header,
                                    padding_ok, True,
                                ):  # fmt: skip
                                    deferred.append(position)  # garbled: ``open`` says why
                                    continue
                                positions_add(position)
                                sequences_add(seq_at(blob, start + 4)[0])
                                counted += end - start
                                if fixed_mode is None:  # next header not IPv4 or IPv6
                                    counts[G_TRANSPORT] += 1
                                if not padding_ok:
                                    counts[G_BAD_PADDING] += 1
                                continue
                        elif not authentic:
                            deferred.append(position)
                            continue
                        # the whole packet decrypted: its first block is the IV's junk (see _CbcDecryptor)
                        plaintext = cbc_update(view[start + ESP_HEADER : body_end])
                        if count(view, start, end, position, True, plaintext, block):
                            continue
                    except Exception:  # noqa: BLE001, S110 - ``open`` tries again and says why
                        pass
                deferred.append(position)
            counts[G_BYTES] += counted
            if positions_seen:
                touched.append(group)

        return opened_cbc

    open_span = crypto.open_span

    def opened_any(
        view: memoryview, positions: Iterable[int], starts: Sequence[int], ends: Sequence[int],
        deferred: list[int],
    ) -> None:  # fmt: skip
        for position in positions:
            start = starts[position]
            end = ends[position]
            if end - start >= min_length:
                try:
                    icv_ok, plaintext = open_span(view, start, end)
                    if plaintext is not None and icv_ok is not False:
                        if count(view, start, end, position, icv_ok, plaintext, 0):
                            continue
                except Exception:  # noqa: BLE001, S110 - ``open`` tries again and says why
                    pass
            deferred.append(position)
        if positions_seen:
            touched.append(group)

    return opened_any


class LaneGroup:
    """What one lane counted in the current batch: the position and sequence number of each packet
    (in arrival order), their bytes, and the packets that were not the usual (decrypted without an
    ICV to check, transport mode where the SA's mode is not fixed, bad padding)."""

    __slots__ = ("index", "spi", "mode", "counts", "positions", "sequences")

    def __init__(self, index: int, spi: int, mode: str | None) -> None:
        self.index = index
        self.spi = spi
        self.mode = mode  # the SA's mode when fixed, else None (each packet's next header says)
        self.counts = [0] * G_FIRST_POSITION  # only G_BYTES, G_DECRYPTED, G_TRANSPORT, G_BAD_PADDING
        self.positions: list[int] = []
        self.sequences: list[int] = []

    def merge_into(self, groups: dict[int, list]) -> None:
        """Add to the batch's group of this SA, then start afresh for the next batch."""
        counts = self.counts
        packets = len(self.positions)
        counts[G_PACKETS] = packets
        counts[G_VERIFIED] = packets - counts[G_DECRYPTED]
        if self.mode is not None and self.mode != "tunnel":  # as summarize_spans decides a mode
            counts[G_TRANSPORT] = packets
        counts[G_TUNNEL] = packets - counts[G_TRANSPORT]
        first, last = self.positions[0], self.positions[-1]
        group = groups.get(self.index)
        if group is None:
            groups[self.index] = [*counts, first, last, {self.spi: self.sequences[:]}]
        else:
            for field in range(G_FIRST_POSITION):
                group[field] += counts[field]
            group[G_FIRST_POSITION] = min(group[G_FIRST_POSITION], first)
            group[G_LAST_POSITION] = max(group[G_LAST_POSITION], last)
            group[G_SEQUENCES].setdefault(self.spi, []).extend(self.sequences)
        counts[:] = [0] * G_FIRST_POSITION
        self.positions.clear()
        self.sequences.clear()
