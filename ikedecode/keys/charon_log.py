"""strongSwan charon debug logs as a key source (``--keylog FILE``, or ``--keys`` by content).

At ``ike 4`` / ``chd 4`` charon prints every secret it derives as a labelled hex dump::

    14[IKE] <lab|1> SKEYID => 20 bytes @ 0x559d162a99d0
    14[IKE] <lab|1>    0: 72 DD E1 52 9C B7 83 E3 7D EA 7D AB 35 BD 25 04  r..R....}.}.5.%.

IKEv1 (keymat_v1.c): ``shared Diffie Hellman secret`` (g^xy), ``SKEYID``, ``SKEYID_d/a/e``,
``encryption key Ka``; per quick mode ``DH secret`` (PFS g(qm)^xy), ``initiator|responder SA
seed`` (the KEYMAT input ``[g(qm)^xy |] protocol | SPI | Ni_b | Nr_b``, RFC 2409 section 5.5) and
``encryption|integrity initiator|responder key``. IKEv2 (keymat_v2.c): ``SKEYSEED``, ``Sk_d``,
``Sk_ai/ar/ei/er/pi/pr secret`` (RFC 7296 section 2.14), kept for IKEv2 work.

Which IKE SA a dump belongs to: ``mgr 2`` lines (``checkout IKEv1 SA by message with SPIs
<icookie>_i <rcookie>_r``, ``IKE_SA lab[1] successfully checked out``, ``checkin IKEv1 SA lab[1]
with SPIs ...``) tie the unique ID in the ``<lab|1>`` prefix (filelog ``ike_name = yes``) or the
worker thread to the cookies; without them the ``natd_chunk`` dump (cookies | address | port,
RFC 3947 section 3.2) of the same job does. Which quick-mode key protects which direction: the
SPI inside a KEYMAT seed is the one the SA's receiver chose, so the "initiator" keys belong to
the SA whose SPI is in the initiator seed (docs/keys.md).

Accepted line shapes: charon's file log (with or without time stamps, ``ike_name``), syslog
(``charon: 14[IKE] ...``) and ``journalctl`` text of charon-systemd, whose messages carry no
thread prefix and whose hex dumps continue on indented lines. Pure text in, KeyRing out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ikedecode.keys.charon_names import (
    CHILD_LABELS,
    IKEV1_LABELS,
    IKEV2_LABELS,
    IKEV2_PSK_LABEL,
    STRONGSWAN_ENCRYPTION,
    STRONGSWAN_INTEGRITY,
)
from ikedecode.keys.charon_sas import LoggedChild, LoggedDerivation, LoggedIkeSa, LoggedInstall, LoggedKeys
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import KeyRing

# --- line shapes
_THREAD_LINE = re.compile(
    r"(?<![\w\[])(?P<thread>\d{2,3})\[(?P<group>[A-Z]{3})\] (?:<(?P<sa>[^<>]*)> )?(?P<body>.*)$"
)
_JOURNAL_LINE = re.compile(r"^\S.*?\b(?:charon|charon-systemd)\[\d+\]: (?P<body>.*)$")
_DUMP_HEADER = re.compile(r"^(?P<label>\S.*?) => (?P<length>\d+) bytes @ (?:0x[0-9a-fA-F]+|\(nil\))\s*$")
_DUMP_ROW = re.compile(r"^\s*(?P<offset>\d+): (?P<hex>(?:[0-9A-F]{2} ){1,16})")
_DAEMON_START = re.compile(r"Starting IKE (?:charon|service) daemon|Starting charon-systemd")
_CHECKOUT = re.compile(
    r"checkout IKEv(?P<v>[12]) SA (?:by message )?with SPIs (?P<i>[0-9a-f]{16})_i (?P<r>[0-9a-f]{16})_r"
)
_CHECKED_OUT = re.compile(r"IKE_SA (?P<name>\S+)\[(?P<n>\d+)\] successfully checked out")
_CREATED = re.compile(r"created IKE_SA (?P<name>\S+)\[(?P<n>\d+)\]")
_CHECKIN = re.compile(
    r"checkin (?:and destroy )?IKEv(?P<v>[12]) SA (?P<name>\S+)\[(?P<n>\d+)\] "
    r"with SPIs (?P<i>[0-9a-f]{16})_i (?P<r>[0-9a-f]{16})_r"
)
_CHECKIN_DONE = re.compile(r"checkin (?:and destroy )?of IKE_SA successful")
_EXCHANGE = re.compile(
    r"(?P<verb>generating|parsed) (?P<exchange>[A-Z_0-9]+) (?P<kind>request|response) (?P<mid>\d+)"
)
_USING = re.compile(r"^\s*using (?P<alg>[A-Z0-9_]+) for (?P<kind>encryption|integrity)\b")
_ADDING = re.compile(r"(?:adding|registering) (?P<dir>inbound|outbound) (?P<proto>ESP|AH) SA")
_SA_ADDRS = re.compile(r"^\s*SPI 0x(?P<spi>[0-9a-f]{8}), src (?P<src>\S+) dst (?P<dst>\S+)")
_SELECTED_IKE = re.compile(r"selected proposal: IKE:(?P<proposal>\S+)")
# kernel-libipsec (ESP group): "adding SAD entry with SPI 70cb4aa4 ..." then the algorithms
_SAD_ENTRY = re.compile(r"adding SAD entry with SPI (?P<spi>[0-9a-f]{8})\b")
_SAD_ALGORITHM = re.compile(
    r"using (?P<kind>encryption|integrity) algorithm (?P<alg>[A-Z0-9_]+) with key size"
)

ZERO_COOKIE = bytes(8)


@dataclass(slots=True)
class _Dump:
    label: str
    length: int
    line: int
    sa: LoggedIkeSa | None
    data: bytearray = field(default_factory=bytearray)


class _Stream:
    """What one worker thread (or the journal) is doing: its IKE SA, its open dump and child."""

    __slots__ = (
        "current",
        "pending",
        "dump",
        "child",
        "exchange",
        "mid",
        "adding",
        "sad_spi",
        "derivation",
        "proposal",
    )

    def __init__(self) -> None:
        self.current: LoggedIkeSa | None = None
        self.pending: tuple[int, bytes, bytes] | None = None  # checkout SPIs awaiting "checked out"
        self.dump: _Dump | None = None
        self.child: LoggedChild | None = None
        self.exchange: str | None = None  # "request" / "response" of the last parsed message
        self.mid: int | None = None  # message ID of the last quick mode / exchange
        self.adding: LoggedInstall | None = None  # "adding inbound ESP SA" awaiting its "SPI ..." line
        self.sad_spi: int | None = None
        self.derivation: LoggedDerivation | None = None  # IKEv2 keys awaiting their SA's check-in
        self.proposal: str | None = None  # the last IKE proposal this thread selected


_SUBSYSTEM = re.compile(r"\[(?:IKE|CHD|MGR|NET|CFG|ENC|DMN|KNL|LIB|JOB|ESP)\] ")


def looks_like_charon_log(text: str) -> bool:
    """Whether ``text`` is charon log output carrying at least one labelled hex dump."""
    head = text[:200_000]
    # "NN[IKE] ": the subsystem found first (a literal '[' the search skips to, where a pattern
    # starting with digits costs a step per character: 8 ms on a 200 kB TOML file), then the digits
    for subsystem in _SUBSYSTEM.finditer(head):
        start = subsystem.start()
        if start >= 2 and head[start - 2 : start].isdecimal():  # \d{2,3} before it: two at least
            return True
    return bool(re.search(r"charon(?:-systemd)?\[\d+\]: .* => \d+ bytes @ ", head))


class CharonLogParser:
    """Reads a charon log line by line; ``keyring()`` gives what it found."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.run = 0  # daemon restarts: unique IDs start again at 1
        self.sas: dict[tuple[int, str], LoggedIkeSa] = {}
        self.anonymous: list[LoggedIkeSa] = []  # SAs known only by thread, cookies from natd_chunk
        self.children: list[LoggedChild] = []
        self.streams: dict[str, _Stream] = {}
        self.last_stream: _Stream | None = None
        self.dumps = 0
        self.sad_algorithms: dict[int, dict[str, str]] = {}  # SPI -> {encryption|integrity: name}
        # the last IKE proposal any thread selected: an RFC 9370 IKE SA rekey's keys are derived in
        # the IKE_FOLLOWUP_KE job, after the CREATE_CHILD_SA job that selected the new SA's proposal
        self.last_ike_proposal: str | None = None
        self.derivations: list[LoggedDerivation] = []  # IKEv2 key derivations, in log order

    # -- SA bookkeeping ---------------------------------------------------------------------
    def _sa(self, unique_id: str, name: str) -> LoggedIkeSa:
        key = (self.run, unique_id)
        sa = self.sas.get(key)
        if sa is None:
            sa = self.sas[key] = LoggedIkeSa(f"{name}[{unique_id}]")
        elif name not in ("", "(unnamed)") and sa.label.startswith(("(unnamed)", "[")):
            sa.label = f"{name}[{unique_id}]"
        return sa

    def _sa_from_prefix(self, prefix: str | None) -> LoggedIkeSa | None:
        if not prefix:
            return None
        name, _, unique_id = prefix.rpartition("|")
        if not unique_id.isdigit():
            return None
        return self._sa(unique_id, name)

    def _context(self, stream: _Stream, prefix: str | None) -> LoggedIkeSa | None:
        sa = self._sa_from_prefix(prefix)
        if sa is not None:
            stream.current = sa
            return sa
        return stream.current

    # -- line handling ----------------------------------------------------------------------
    def feed(self, number: int, raw: str) -> None:
        line = raw.rstrip("\r\n")
        match = _THREAD_LINE.search(line)
        if match is not None:
            stream = self.streams.setdefault(match["thread"], _Stream())
            body, prefix = match["body"], match["sa"]
        else:
            journal = _JOURNAL_LINE.match(line)
            stream = self.streams.setdefault("journal", _Stream())
            if journal is not None:
                body, prefix = journal["body"], None
            elif line[:1].isspace() and self.last_stream is not None:  # journalctl continuation line
                stream, body, prefix = self.last_stream, line, None
            else:
                return
        self.last_stream = stream
        if stream.dump is not None:
            row = _DUMP_ROW.match(body)
            if row is not None:
                self._dump_row(stream, row, number)
                return
            stream.dump = None  # a dump cut short: ignore what it had
        if _DAEMON_START.search(body):
            self.run += 1
            self.streams.clear()
            return
        self._message(stream, body, prefix, number)

    def _message(self, stream: _Stream, body: str, prefix: str | None, number: int) -> None:
        header = _DUMP_HEADER.match(body.strip())
        if header is not None:
            sa = self._context(stream, prefix)
            stream.dump = _Dump(header["label"], int(header["length"]), number, sa)
            if stream.dump.length == 0:
                stream.dump = None
            return
        if self._manager(stream, body):
            return
        sa = self._context(stream, prefix)
        exchange = _EXCHANGE.search(body)
        if exchange is not None:
            if exchange["verb"] == "parsed":
                stream.exchange = exchange["kind"]
            if exchange["exchange"] in ("QUICK_MODE", "CREATE_CHILD_SA", "IKE_AUTH"):
                stream.mid = int(exchange["mid"])
            return
        selected = _SELECTED_IKE.search(body)
        if selected is not None:
            stream.proposal = selected["proposal"]  # a rekey selects the new SA's under the old SA
            self.last_ike_proposal = selected["proposal"]
            if sa is not None:
                sa.proposal = selected["proposal"]
            return
        using = _USING.match(body)
        if using is not None:
            child = self._child(stream, sa, number)
            setattr(child, using["kind"], self._algorithm(using["alg"], using["kind"], number))
            return
        sad = _SAD_ENTRY.search(body)
        if sad is not None:
            stream.sad_spi = int(sad["spi"], 16)
            return
        sad_algorithm = _SAD_ALGORITHM.search(body)
        if sad_algorithm is not None and stream.sad_spi is not None:
            kind = sad_algorithm["kind"]
            self.sad_algorithms.setdefault(stream.sad_spi, {})[kind] = self._algorithm(
                sad_algorithm["alg"], kind, number
            )
            return
        adding = _ADDING.search(body)
        if adding is not None:
            stream.adding = LoggedInstall(adding["dir"], adding["proto"].lower())
            return
        addrs = _SA_ADDRS.match(body)
        if addrs is not None and stream.adding is not None:
            install, stream.adding = stream.adding, None
            install.spi, install.src, install.dst = int(addrs["spi"], 16), addrs["src"], addrs["dst"]
            child = self._child(stream, sa, number)
            child.installs.append(install)
            if child.complete:
                stream.child = None

    def _manager(self, stream: _Stream, body: str) -> bool:
        """IKE SA manager lines: which SA (cookies/SPIs) the thread works on."""
        checkin = _CHECKIN.search(body)
        if checkin is not None:
            sa = self._sa(checkin["n"], checkin["name"])
            sa.learn_spis(int(checkin["v"]), bytes.fromhex(checkin["i"]), bytes.fromhex(checkin["r"]))
            if stream.derivation is not None and checkin["v"] == "2":
                stream.derivation.owner, stream.derivation = sa, None  # the SA these keys belong to
            return True
        if _CHECKIN_DONE.search(body):
            stream.current, stream.pending, stream.child, stream.derivation = None, None, None, None
            stream.proposal = None
            return True
        checkout = _CHECKOUT.search(body)
        if checkout is not None:
            stream.current, stream.child, stream.exchange, stream.mid = None, None, None, None
            stream.derivation, stream.proposal = None, None  # a new job
            stream.pending = (int(checkout["v"]), bytes.fromhex(checkout["i"]), bytes.fromhex(checkout["r"]))
            return True
        found = _CHECKED_OUT.search(body) or _CREATED.search(body)
        if found is not None:
            sa = self._sa(found["n"], found["name"])
            if stream.pending is not None:
                sa.learn_spis(*stream.pending)
                stream.pending = None
            stream.current = sa
            return True
        return False

    def _child(self, stream: _Stream, sa: LoggedIkeSa | None, number: int) -> LoggedChild:
        if sa is None:
            sa = self._anonymous(stream, number)
        if stream.child is None or stream.child.sa is not sa:
            stream.child = LoggedChild(sa, number, stream.mid, self._initiated(stream))
            self.children.append(stream.child)
        return stream.child

    @staticmethod
    def _initiated(stream: _Stream) -> bool | None:
        # keys are derived on parsing the peer's response (initiator) or request (responder)
        return {"response": True, "request": False}.get(stream.exchange or "")

    def _anonymous(self, stream: _Stream, number: int) -> LoggedIkeSa:
        if stream.current is None:
            stream.current = LoggedIkeSa(f"IKE SA of log line {number}")
            if stream.pending is not None:
                stream.current.learn_spis(*stream.pending)
            self.anonymous.append(stream.current)
        return stream.current

    def _algorithm(self, name: str, kind: str, number: int) -> str:
        table = STRONGSWAN_ENCRYPTION if kind == "encryption" else STRONGSWAN_INTEGRITY
        if name not in table:
            raise KeyFileError(f"strongSwan {kind} algorithm {name!r} is not known", self.source, number)
        return table[name]

    # -- hex dumps ----------------------------------------------------------------------------
    def _dump_row(self, stream: _Stream, row: re.Match[str], number: int) -> None:
        dump = stream.dump
        if dump is None:
            return
        if int(row["offset"]) != len(dump.data):
            raise KeyFileError(
                f"hex dump '{dump.label}' (line {dump.line}) jumps to offset {row['offset']} "
                f"after {len(dump.data)} bytes",
                self.source,
                number,
            )
        dump.data.extend(bytes.fromhex(row["hex"]))
        if len(dump.data) >= dump.length:
            stream.dump = None
            if len(dump.data) > dump.length:
                raise KeyFileError(
                    f"hex dump '{dump.label}' (line {dump.line}) has {len(dump.data)} bytes, "
                    f"its header says {dump.length}",
                    self.source,
                    number,
                )
            self._dumped(stream, dump)

    def _dumped(self, stream: _Stream, dump: _Dump) -> None:
        value = bytes(dump.data)
        label = dump.label
        if label in IKEV1_LABELS or label in IKEV2_LABELS:
            sa = dump.sa
            if sa is None or (label == "shared Diffie Hellman secret" and sa in self.anonymous and sa.keys):
                stream.current = None  # an anonymous thread context: a new DH secret is a new SA
                sa = self._anonymous(stream, dump.line)
            if label in IKEV2_LABELS and sa.version is None:
                sa.version = 2
            name = IKEV1_LABELS.get(label) or IKEV2_LABELS[label]
            if sa.version == 2:
                self._ikev2_dump(stream, sa, name, value, dump.line)
                return
            sa.keys.setdefault(name, value)
            if sa.line == 0 or sa.line > dump.line:
                sa.line = dump.line
            self.dumps += 1
        elif label == IKEV2_PSK_LABEL and dump.sa is not None and dump.sa.version == 2:
            if all(value != known for _, known in dump.sa.psks):
                dump.sa.psks.append((dump.line, value))
            self.dumps += 1
        elif label == "natd_chunk" and len(value) > 16:
            sa = dump.sa or self._anonymous(stream, dump.line)
            if sa.initiator_spi is None:  # RFC 3947 section 3.2: HASH(CKY-I | CKY-R | IP | Port)
                sa.learn_spis(sa.version or 1, value[:8], value[8:16])
        elif label in CHILD_LABELS:
            child = self._child(stream, dump.sa, dump.line)
            what, role = CHILD_LABELS[label]
            if what == "pfs":
                child.pfs = value
            elif what == "seed":
                child.seeds[role] = value
            else:
                child.keys[(what, role)] = value
            self.dumps += 1

    def _ikev2_dump(self, stream: _Stream, sa: LoggedIkeSa, name: str, value: bytes, line: int) -> None:
        """An IKEv2 key: part of the thread's current derivation, or the start of a new one (a
        label seen again, a DH secret after SK_* keys: the next stage or the next SA)."""
        derivation = stream.derivation
        if derivation is None or name in derivation.keys or (name == "dh_secret" and derivation.keys):
            proposal = stream.proposal or (self.last_ike_proposal if not sa.proposal else None)
            derivation = stream.derivation = LoggedDerivation(sa, line, proposal)
            self.derivations.append(derivation)
        derivation.keys[name] = value
        if sa.line == 0 or sa.line > line:
            sa.line = line
        self.dumps += 1

    def keyring(self) -> KeyRing:
        """The keys found, matched to their IKE SAs and IPsec SAs."""
        for derivation in self.derivations:
            owner = derivation.owner or derivation.prefix_sa
            if derivation not in owner.stages:
                owner.version = 2
                owner.stages.append(derivation)
        return LoggedKeys(
            self.source, [*self.sas.values(), *self.anonymous], self.children, self.sad_algorithms, self.dumps
        ).keyring()


def parse_charon_log(text: str, source: str) -> KeyRing:
    """Every secret a charon log holds, matched to its IKE SA (cookies) and IPsec SA (SPI)."""
    parser = CharonLogParser(source)
    for number, line in enumerate(text.splitlines(), 1):
        parser.feed(number, line)
    return parser.keyring()


__all__ = ["CharonLogParser", "looks_like_charon_log", "parse_charon_log"]
