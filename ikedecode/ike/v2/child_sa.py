"""IKEv2 Child SA key material (RFC 7296 2.17), one record per direction, for the ESP layer."""

from __future__ import annotations

from typing import NamedTuple


class Ikev2ChildSaKeys(NamedTuple):
    """Keys of one direction of one Child SA: the ESP/AH SPI chosen by its receiver, the
    negotiated transforms (IKEv2 transform IDs), and this direction's encryption and integrity
    keys (KEYMAT split as RFC 7296 2.17 says: SK_ei|SK_ai for initiator->responder first).
    A NamedTuple: two per Child SA, never changed; the keys are kept out of ``repr``."""

    protocol_id: int  # 2 AH, 3 ESP (RFC 7296 3.3.1)
    spi: bytes
    src: str
    dst: str
    encryption_id: int | None  # transform type 1 ID (None for AH)
    key_length: int | None  # Key Length attribute, bits
    integrity_id: int | None  # transform type 3 ID (None or 0 with AEAD)
    encryption_key: bytes
    integrity_key: bytes
    ike_cookies: str
    message_id: int
    exchange: str  # "IKE_AUTH" or "CREATE_CHILD_SA"
    mode: str | None = None  # "transport" when USE_TRANSPORT_MODE was agreed, else "tunnel"
    esn: bool = False
    dh_origin: str | None = None  # PFS: where the new g^ir came from

    @property
    def origin(self) -> str:
        pfs = f", PFS secret from {self.dh_origin}" if self.dh_origin else ""
        return f"{self.exchange} 0x{self.message_id:08x} of IKE SA {self.ike_cookies}{pfs}"

    def __repr__(self) -> str:
        return (
            f"Ikev2ChildSaKeys(protocol_id={self.protocol_id!r}, spi={self.spi!r}, src={self.src!r}, "
            f"dst={self.dst!r}, encryption_id={self.encryption_id!r}, key_length={self.key_length!r}, "
            f"integrity_id={self.integrity_id!r}, ike_cookies={self.ike_cookies!r}, "
            f"message_id={self.message_id!r}, exchange={self.exchange!r}, mode={self.mode!r}, "
            f"esn={self.esn!r}, dh_origin={self.dh_origin!r})"
        )
