"""``--export-wireshark DIR``: the keys ikedecode derived, as Wireshark's key tables (UAT files).

Writes ``ikev1_decryption_table`` (initiator cookie, final phase-1 cipher key), ``esp_sa`` (one line
per ESP SA with its algorithms and keys) and ``ikev2_decryption_table`` (IKEv2 SA keys the user
gave, from a daemon log or table) into DIR, the files a Wireshark profile holds, so
``WIRESHARK_CONFIG_DIR=DIR tshark -o esp.enable_encryption_decode:TRUE ...`` (or the profile)
decrypts the same capture. SAs whose algorithms Wireshark 4.0 cannot decrypt are listed as
comments. The files hold secrets: they are written readable by the owner only.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from ikedecode import __version__
from ikedecode.analysis.report import Report
from ikedecode.esp.sa import IpsecSa
from ikedecode.ike.records import DerivedKeys
from ikedecode.ike.v2.payloads.sa import Ikev2Proposal
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import Ikev2KeyMaterial, KeyRing
from ikedecode.keys.wireshark_names import (
    ESP_ENCRYPTION_NAMES,
    ESP_INTEGRITY_NAMES,
    ikev2_encryption_name,
    ikev2_integrity_name,
)

IKEV1_TABLE = "ikev1_decryption_table"
IKEV2_TABLE = "ikev2_decryption_table"
ESP_TABLE = "esp_sa"
TABLE_FILES = (IKEV1_TABLE, IKEV2_TABLE, ESP_TABLE)


@dataclass(slots=True)
class WiresharkTables:
    """The three files' lines, and what could not be expressed in them."""

    ikev1: list[str] = field(default_factory=list)
    ikev2: list[str] = field(default_factory=list)
    esp: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def text(self, table: str, capture_name: str) -> str:
        lines = {IKEV1_TABLE: self.ikev1, IKEV2_TABLE: self.ikev2, ESP_TABLE: self.esp}[table]
        header = [
            f"# {table} written by ikedecode {__version__} for {capture_name}",
            "# SECRET KEYS: keep this file private.",
        ]
        header += [f"# not exported: {note}" for note in self.skipped if note.startswith(_TOPIC[table])]
        return "\n".join(header + lines) + "\n"


_TOPIC = {IKEV1_TABLE: "IKEv1", IKEV2_TABLE: "IKEv2", ESP_TABLE: "ESP"}


def _uat_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _family(sa: IpsecSa) -> str:
    for address in (sa.src, sa.dst):
        if address is not None:
            return "IPv6" if ipaddress.ip_address(address).version == 6 else "IPv4"
    return "IPv4"  # both addresses wildcards: Wireshark matches IPv4 packets with "*"


def esp_sa_line(sa: IpsecSa) -> str | None:
    """One ``esp_sa`` line, or None when Wireshark has no name for the SA's algorithms."""
    encryption = ESP_ENCRYPTION_NAMES.get(sa.encryption)
    integrity = ESP_INTEGRITY_NAMES.get(sa.integrity)
    if sa.protocol != "esp" or encryption is None or integrity is None:
        return None
    spi = "*" if sa.spi is None else f"0x{sa.spi:08x}"
    fields = [
        _family(sa),
        sa.src or "*",
        sa.dst or "*",
        spi,
        encryption,
        f"0x{sa.encryption_key.hex()}" if sa.encryption_key else "",
        integrity,
        f"0x{sa.integrity_key.hex()}" if sa.integrity_key else "",
    ]
    return ",".join(_uat_string(f) for f in fields)


def ikev2_line(keys: Ikev2KeyMaterial) -> str | None:
    encryption = ikev2_encryption_name(keys.encryption, len(keys.sk_ei)) if keys.encryption else None
    integrity = ikev2_integrity_name(keys.integrity) if keys.integrity else None
    if encryption is None or integrity is None:
        return None
    # hex fields bare (a quoted hex field is read as text by Wireshark), names quoted
    return ",".join(
        [
            keys.initiator_spi.hex(),
            keys.responder_spi.hex(),
            keys.sk_ei.hex(),
            keys.sk_er.hex(),
            _uat_string(encryption),
            keys.sk_ai.hex(),
            keys.sk_ar.hex(),
            _uat_string(integrity),
        ]
    )


def wireshark_tables(report: Report, keyring: KeyRing) -> WiresharkTables:
    """The tables for every key the run derived, then those given for SAs the capture lacks."""
    tables = WiresharkTables()
    seen_cookies: set[bytes] = set()
    derived = [
        (ike.initiator_cookie, ike.keys.encryption_key)
        for ike in report.ike_sas
        if ike.version == 1 and isinstance(ike.keys, DerivedKeys)
    ]
    given = [(k.initiator_cookie, k.encryption_key) for k in keyring.phase1_keys if k.encryption_key]
    for cookie, key in derived + given:  # SAs of the capture first, then keys given for others
        if cookie not in seen_cookies:
            seen_cookies.add(cookie)
            tables.ikev1.append(f"{cookie.hex()},{key.hex()}")
    seen_sas: set[tuple[object, ...]] = set()
    for sa in [*report.ipsec_sas, *keyring.ipsec_sas]:
        # one line per SA: a logged SA the capture shows with other (NAT) addresses is the same SA
        identity = (sa.protocol, sa.spi, sa.encryption, sa.encryption_key, sa.integrity_key)
        if identity in seen_sas:
            continue
        seen_sas.add(identity)
        line = esp_sa_line(sa)
        if line is None:
            why = (
                "Wireshark cannot decrypt ChaCha20-Poly1305 ESP"
                if sa.encryption == "chacha20-poly1305"
                else "no Wireshark esp_sa name"
            )
            tables.skipped.append(f"ESP/AH {sa.label} ({sa.protocol} {sa.encryption}/{sa.integrity}): {why}")
        else:
            tables.esp.append(line)
    for chosen, notes in _ikev2_per_spi_pair(_derived_ikev2(report), keyring.ikev2_keys):
        tables.skipped.extend(notes)
        line = ikev2_line(chosen)
        if line is None:
            tables.skipped.append(_ikev2_unexpressible(chosen))
        elif line not in tables.ikev2:
            tables.ikev2.append(line)
    return tables


def _keys_of(k: Ikev2KeyMaterial) -> tuple[bytes, ...]:
    return (k.sk_ei, k.sk_er, k.sk_ai, k.sk_ar)


def _ikev2_per_spi_pair(
    derived: list[Ikev2KeyMaterial], given: list[Ikev2KeyMaterial]
) -> list[tuple[Ikev2KeyMaterial, list[str]]]:
    """One key set per SPI pair (Wireshark's table has one line per pair) and a note where an SA had
    several: key stages (RFC 9370 re-derives SK_* after each additional key exchange) or sources that
    disagree. The keys that opened the capture's SA come first; else the last stage, which protects
    IKE_AUTH and everything after it."""
    groups: dict[tuple[bytes, bytes], list[Ikev2KeyMaterial]] = {}
    for entry in [*derived, *given]:
        groups.setdefault((entry.initiator_spi, entry.responder_spi), []).append(entry)
    out = []
    for (spi_i, spi_r), group in groups.items():
        opened = [g for g in group if any(g is d for d in derived)]
        chosen = opened[0] if opened else max(group, key=lambda g: g.stage)
        distinct = {_keys_of(g) for g in group}
        notes = []
        if len(distinct) > 1:
            stages = max(g.stage for g in group) + 1
            what = f"{stages} key stages" if stages > 1 else f"{len(distinct)} different key sets"
            notes.append(
                f"IKEv2 SA {spi_i.hex()}/{spi_r.hex()} has {what}: Wireshark's ikev2_decryption_table holds "
                f"one per SPI pair, so only those from {chosen.origin} are exported and Wireshark cannot "
                "decrypt the messages protected with the others"
            )
        elif chosen.stage:  # derived here: the SA's last RFC 9370 key stage
            notes.append(
                f"IKEv2 SA {spi_i.hex()}/{spi_r.hex()} has {chosen.stage + 1} key stages "
                "(RFC 9370 additional key exchanges): Wireshark's ikev2_decryption_table holds one per "
                "SPI pair, so only the last stage's keys (IKE_AUTH on) are exported and Wireshark "
                "cannot decrypt the IKE_INTERMEDIATE messages protected with the earlier ones"
            )
        out.append((chosen, notes))
    return out


def _ikev2_unexpressible(keys: Ikev2KeyMaterial) -> str:
    label = f"IKEv2 SA {keys.initiator_spi.hex()}/{keys.responder_spi.hex()}"
    if keys.encryption == "chacha20-poly1305":
        return f"{label}: Wireshark cannot decrypt ChaCha20-Poly1305 IKE SAs (no ikev2_decryption_table name)"
    return f"{label} ({keys.encryption}/{keys.integrity}): algorithms unknown to Wireshark"


def _derived_ikev2(report: Report) -> list[Ikev2KeyMaterial]:
    """The SK_* of the IKEv2 SAs the run keyed, named like key sources name them."""
    from ikedecode.ike.records import Ikev2DerivedKeys
    from ikedecode.ike.v2.candidates import ENCRYPTION_IDS, INTEGRITY_IDS

    encryption_names = {number: name for name, number in ENCRYPTION_IDS.items()}
    integrity_names = {number: name for name, number in INTEGRITY_IDS.items()}
    out = []
    for sa in report.ike_sas:
        keys = sa.keys
        if (
            sa.version != 2
            or not isinstance(keys, Ikev2DerivedKeys)
            or not isinstance(sa.chosen, Ikev2Proposal)
            or not sa.responder_cookie
        ):
            continue
        transforms = {t.transform_type: t.transform_id for t in reversed(sa.chosen.transforms)}
        out.append(
            Ikev2KeyMaterial(
                sa.initiator_cookie,
                sa.responder_cookie,
                f"IKEv2 SA {sa.cookies}",
                encryption=encryption_names.get(transforms.get(1, -1)),
                integrity=integrity_names.get(transforms.get(3, 0)),
                sk_ei=keys.sk_ei,
                sk_er=keys.sk_er,
                sk_ai=keys.sk_ai,
                sk_ar=keys.sk_ar,
                stage=max((s["stage"] for s in sa.ikev2.key_stages), default=0) if sa.ikev2 else 0,
            )
        )
    return out


def write_wireshark_tables(directory: str, report: Report, keyring: KeyRing) -> WiresharkTables:
    """Write the three files into ``directory`` (created if missing), owner-readable only."""
    tables = wireshark_tables(report, keyring)
    target = Path(directory)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in TABLE_FILES:
            path = target / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(tables.text(name, report.capture_name))
            os.chmod(path, 0o600)  # an existing file keeps its mode on O_TRUNC
    except OSError as exc:
        raise KeyFileError(
            f"{directory}: cannot write the Wireshark key tables: {exc.strerror or exc}"
        ) from None
    return tables


__all__ = ["TABLE_FILES", "WiresharkTables", "esp_sa_line", "wireshark_tables", "write_wireshark_tables"]
