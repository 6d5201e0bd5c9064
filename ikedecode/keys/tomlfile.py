"""The project's key file (``--keys FILE``): TOML, documented in docs/keys.md.

Tables: ``[[psk]]`` (secret, optional peer), ``[[ike_sa]]`` (cookies, dh_secret and/or
skeyid/skeyid_d/skeyid_a/skeyid_e/encryption_key; IKEv2: additional_secrets, ppk_id / ppk),
``[[quick_mode]]`` (cookie, message ID, PFS dh_secret, additional_secrets), ``[[dh_private]]``
(value), ``[[ipsec_sa]]`` (manual or logged ESP/AH keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ikedecode.esp.sa import IpsecSa
from ikedecode.keys.cli_inputs import ppk_identity
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.hexvalues import parse_hex, parse_int, plain_hex
from ikedecode.keys.keyring import DhPrivate, DhSecret, KeyRing, Phase1KeyMaterial, Ppk, PresharedKey
from ikedecode.keys.simple_toml import read_simple_toml

KNOWN_TABLES = {"psk", "ike_sa", "quick_mode", "dh_private", "ipsec_sa"}
IKE_SA_KEYS = ("skeyid", "skeyid_d", "skeyid_a", "skeyid_e", "encryption_key")
# an [[ike_sa]] with these fields and no other is a g^xy and nothing else (the commonest entry)
G_XY_FIELDS = frozenset({"initiator_cookie", "responder_cookie", "dh_secret"})


IPSEC_SA_FIELDS = {
    "protocol",
    "spi",
    "src",
    "dst",
    "mode",
    "encryption",
    "encryption_key",
    "integrity",
    "integrity_key",
    "esn",
    "seq_hi",  # ESN: the high 32 bits of the sequence number at the start of the capture
}


@dataclass(slots=True)
class KeyFile:
    keyring: KeyRing
    source: str = ""


def parse_key_file(text: str, source: str) -> KeyFile:
    doc = read_simple_toml(text)  # the plain TOML of big key files, fast; anything else: tomllib
    if doc is None:
        import tomllib  # only for TOML beyond read_simple_toml's subset (~3 ms of imports)

        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise KeyFileError(f"{source}: not valid TOML: {exc}") from None
    unknown = set(doc) - KNOWN_TABLES
    if unknown:
        raise KeyFileError(
            f"{source}: unknown table(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(KNOWN_TABLES))}"
        )
    ring = KeyRing()
    for i, entry in enumerate(_tables(doc, "psk", source), 1):
        where = f"{source} [[psk]] #{i}"
        secret = entry.get("secret")
        if secret is None and "secret_hex" in entry:
            secret_bytes = parse_hex(entry["secret_hex"], f"{where} secret_hex")
        elif isinstance(secret, str):
            secret_bytes = secret.encode()
        else:
            raise KeyFileError(f"{where}: needs 'secret' (text) or 'secret_hex'")
        ring.psks.append(PresharedKey(secret_bytes, where, entry.get("peer")))
    for i, entry in enumerate(_tables(doc, "ike_sa", source), 1):
        if entry.keys() == G_XY_FIELDS:  # one SA's g^xy (bench/ and the lab tools write 10,000s)
            icky = plain_hex(entry["initiator_cookie"])
            rcky = plain_hex(entry["responder_cookie"])
            dh_secret = plain_hex(entry["dh_secret"])
            if icky and rcky and dh_secret and len(icky) == len(rcky) == 8:
                ring.dh_secrets.append(DhSecret(dh_secret, f"{source} [[ike_sa]] #{i} dh_secret", icky))
                continue  # else as any other entry, which says what is wrong
        where = f"{source} [[ike_sa]] #{i}"
        icky = parse_hex(_need(entry, "initiator_cookie", where), f"{where} initiator_cookie", length=8)
        rcky = (
            parse_hex(entry["responder_cookie"], f"{where} responder_cookie", length=8)
            if "responder_cookie" in entry
            else None
        )
        values = {k: parse_hex(entry[k], f"{where} {k}") for k in (*IKE_SA_KEYS, "dh_secret") if k in entry}
        if "dh_secret" in values:
            ring.dh_secrets.append(DhSecret(values["dh_secret"], f"{where} dh_secret", icky))
        ring.dh_secrets.extend(_additional_secrets(entry, where, icky, None))
        if "ppk" in entry:
            ring.ppks.append(
                Ppk(
                    ppk_identity(str(_need(entry, "ppk_id", where)), f"{where} ppk_id"),
                    parse_hex(entry["ppk"], f"{where} ppk"),
                    f"{where} ppk",
                    icky,
                )
            )
        if any(k in values for k in IKE_SA_KEYS):
            ring.phase1_keys.append(
                Phase1KeyMaterial(icky, where, rcky, **{k: values.get(k) for k in IKE_SA_KEYS})
            )
    for i, entry in enumerate(_tables(doc, "quick_mode", source), 1):
        where = f"{source} [[quick_mode]] #{i}"
        icky = parse_hex(_need(entry, "initiator_cookie", where), f"{where} initiator_cookie", length=8)
        mid = parse_int(_need(entry, "message_id", where), f"{where} message_id")
        if "dh_secret" in entry:
            ring.dh_secrets.append(
                DhSecret(parse_hex(entry["dh_secret"], f"{where} dh_secret"), f"{where} dh_secret", icky, mid)
            )
        ring.dh_secrets.extend(_additional_secrets(entry, where, icky, mid))
    for i, entry in enumerate(_tables(doc, "dh_private", source), 1):
        where = f"{source} [[dh_private]] #{i}"
        ring.dh_privates.append(DhPrivate(parse_hex(_need(entry, "value", where), f"{where} value"), where))
    for i, entry in enumerate(_tables(doc, "ipsec_sa", source), 1):
        ring.ipsec_sas.append(_ipsec_sa(entry, f"{source} [[ipsec_sa]] #{i}"))
    return KeyFile(ring, source)


def _ipsec_sa(entry: dict[str, Any], where: str) -> IpsecSa:
    """An ESP/AH SA given directly (daemon log, manual keying: Cisco ``set session-key``)."""
    unknown = set(entry) - IPSEC_SA_FIELDS
    if unknown:
        raise KeyFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    protocol = str(entry.get("protocol", "esp")).lower()
    spi = entry.get("spi")
    try:
        return IpsecSa(
            protocol,  # type: ignore[arg-type]
            None if spi in (None, "*") else parse_int(spi, f"{where} spi"),
            entry.get("src"),
            entry.get("dst"),
            encryption=str(entry.get("encryption", "null")),
            encryption_key=parse_hex(entry["encryption_key"], f"{where} encryption_key")
            if entry.get("encryption_key")
            else b"",
            integrity=str(entry.get("integrity", "null")),
            integrity_key=parse_hex(entry["integrity_key"], f"{where} integrity_key")
            if entry.get("integrity_key")
            else b"",
            mode=entry.get("mode"),
            esn=bool(entry.get("esn", False)),
            initial_seq_hi=parse_int(entry.get("seq_hi", 0), f"{where} seq_hi"),
            origin=where,
        )
    except ValueError as exc:  # InvalidSa, UnknownAlgorithm
        raise KeyFileError(f"{where}: {exc}") from None


def _additional_secrets(
    entry: dict[str, Any], where: str, icky: bytes, message_id: int | None
) -> list[DhSecret]:
    """``additional_secrets = [SK(1), ..., SK(n)]``: the shared secrets of the RFC 9370 additional
    key exchanges, in ADDKE order (IKE_INTERMEDIATE for an IKE SA, IKE_FOLLOWUP_KE for a rekey)."""
    values = entry.get("additional_secrets", [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise KeyFileError(f"{where}: additional_secrets must be a list of hex strings (SK(1)..SK(n))")
    return [
        DhSecret(parse_hex(v, f"{where} additional_secrets[{n}]"), f"{where} SK({n})", icky, message_id, n)
        for n, v in enumerate(values, 1)
    ]


def _tables(doc: dict[str, Any], name: str, source: str) -> list[dict[str, Any]]:
    value = doc.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise KeyFileError(f"{source}: '{name}' must be an array of tables ([[{name}]])")
    return value


def _need(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry:
        raise KeyFileError(f"{where}: missing '{key}'")
    return entry[key]
