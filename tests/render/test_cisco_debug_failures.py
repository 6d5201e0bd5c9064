"""``--format cisco`` on failed negotiations: the retransmissions and the failure lines IOS prints.

PSK mismatch (``fail-psk-mismatch``): west (initiator) sends MM5 three times; east cannot decrypt
it and answers each copy with an encrypted PAYLOAD-MALFORMED that west cannot decrypt either.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache

from ikedecode.keys.loader import load_key_file
from ikedecode.render.cisco import render_cisco
from tests.conftest import CAPTURES_DIR, KEYS_DIR, analyze_path

STAMP = re.compile(r"^\*\w{3} [ \d]\d \d\d:\d\d:\d\d\.\d{3}: ")


@lru_cache(maxsize=8)
def _report(name: str, with_keys: bool = True):  # noqa: ANN202
    keyring = load_key_file(str(KEYS_DIR / f"{name}.toml")) if with_keys else None
    return analyze_path(CAPTURES_DIR / f"{name}.pcap", keyring)


def lines(name: str, perspective: str, with_keys: bool = True) -> list[str]:
    text = render_cisco(_report(name, with_keys), perspective=perspective)
    return [STAMP.sub("", line) for line in text.splitlines() if not line.startswith("!")]


def after(items: list[str], marker: str) -> list[str]:
    return items[items.index(marker) + 1 :]


def test_psk_mismatch_initiator_retransmits_mm5_and_rejects_the_answers():
    out = lines("fail-psk-mismatch", "initiator")
    bad = "%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from 192.0.2.2 failed its sanity check or is malformed"
    assert out.count(bad) == 3  # east's three PAYLOAD-MALFORMED informationals (frames 6, 8, 10)
    assert out.count("ISAKMP (0:1): retransmitting phase 1 MM_KEY_EXCH...") == 2  # frames 7 and 9
    assert out.count("ISAKMP (0:1): incrementing error counter on sa: retransmit phase 1") == 2
    assert out.count("ISAKMP (0:1): sending packet to 192.0.2.2 (I) MM_KEY_EXCH") == 3
    assert out[-1] == (
        'ISAKMP (0:1): deleting SA reason "Death by retransmission P1" state (I) MM_KEY_EXCH (peer 192.0.2.2)'
    )
    # the first answer comes before the first retransmission, as on the wire
    first_bad = out.index(bad)
    assert out[first_bad - 1] == "ISAKMP (0:1): received packet from 192.0.2.2 (I) MM_KEY_EXCH"
    assert first_bad < out.index("ISAKMP (0:1): retransmitting phase 1 MM_KEY_EXCH...")
    assert "SA has been authenticated" not in "\n".join(out)


def test_psk_mismatch_responder_cannot_read_mm5_and_says_payload_malformed():
    out = lines("fail-psk-mismatch", "responder")
    bad = "%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from 192.0.2.1 failed its sanity check or is malformed"
    assert out.count(bad) == 3  # MM5 and its two retransmissions
    assert out.count("ISAKMP (0:1): sending NOTIFY PAYLOAD_MALFORMED protocol 1") == 3
    assert "Death by retransmission" not in "\n".join(out)  # the responder did not retransmit


def test_psk_mismatch_without_keys_still_shows_the_retransmissions():
    out = lines("fail-psk-mismatch", "initiator", with_keys=False)
    assert out.count("ISAKMP (0:1): retransmitting phase 1 MM_KEY_EXCH...") == 2
    assert out.count("ISAKMP (0:1): (encrypted: no keys) INFO notification or delete not shown") == 3
    assert out[-1].startswith('ISAKMP (0:1): deleting SA reason "Death by retransmission P1"')


def test_unreachable_responder_is_death_by_retransmission_in_mm_no_state():
    out = lines("fail-unreachable", "initiator")
    assert out.count("ISAKMP (0:1): retransmitting phase 1 MM_NO_STATE...") == 3
    assert out[-1] == (
        'ISAKMP (0:1): deleting SA reason "Death by retransmission P1" state (I) MM_NO_STATE (peer 192.0.2.2)'
    )


def test_phase1_proposal_mismatch_on_the_responder():
    out = lines("fail-ike-proposal", "responder")
    assert "ISAKMP (0:1): atts are not acceptable. Next payload is 0" in out
    assert "ISAKMP (0:1): phase 1 SA policy not acceptable! (local 192.0.2.2 remote 192.0.2.1)" in out
    assert "ISAKMP (0:1): sending NOTIFY NO_PROPOSAL_CHOSEN protocol 1" in out
    assert "atts are acceptable" not in "\n".join(out)
    initiator = lines("fail-ike-proposal", "initiator")
    assert "ISAKMP (0:1): processing NOTIFY NO_PROPOSAL_CHOSEN protocol 1" in initiator


def test_proxy_identity_mismatch_on_the_responder():
    out = lines("fail-ts-mismatch", "responder")
    unsupported = out.index("IPSEC(validate_transform_proposal): proxy identities not supported")
    block = out[unsupported - 7 : unsupported]  # the key engine message and its 6 continuation lines
    assert block[0] == "IPSEC(validate_proposal_request): proposal part #1,"
    assert "remote_proxy= 10.1.0.0/255.255.255.0/0/0 (type=4)," in [x.strip() for x in block]
    assert out[unsupported + 1] == "ISAKMP (0:1): IPSec policy invalidated proposal"
    assert "ISAKMP (0:1): sending NOTIFY INVALID_ID_INFO protocol 3" in out
    assert any(x.endswith('error TRUE reason "QM rejected"') for x in out)
    initiator = lines("fail-ts-mismatch", "initiator")
    assert "ISAKMP (0:1): processing NOTIFY INVALID_ID_INFO protocol 3" in initiator
    assert not any("Creating IPsec SAs" in x for x in initiator)


def test_transform_set_mismatch_on_the_responder():
    out = lines("fail-esp-proposal", "responder")
    checks = after(out, "ISAKMP (0:1): Checking IPsec proposal 1")
    assert "ISAKMP (0:1): atts are not acceptable." in checks
    assert "ISAKMP (0:1): phase 2 SA policy not acceptable! (local 192.0.2.2 remote 192.0.2.1)" in checks
    assert "ISAKMP (0:1): sending NOTIFY NO_PROPOSAL_CHOSEN protocol 3" in checks


def test_received_deletes_remove_the_ipsec_and_ike_sas():
    out = lines("case-3des-sha1-modp768", "responder")
    assert "IPSEC(key_engine_delete_sas): delete SA with spi 3420171166/50 for 192.0.2.1" in out
    assert (
        'ISAKMP (0:1): deleting SA reason "P1 delete notify (in)" state (R) QM_IDLE (peer 192.0.2.1)' in out
    )


def test_a_message_after_the_ike_delete_has_no_sa():
    original = _report("case-3des-sha1-modp768")
    sa = original.ike_sas[0]
    # frame 26 (the initiator's ESP delete) again, one second after the IKE SA delete (frame 27)
    late = dataclasses.replace(sa.messages[9], time=sa.messages[-1].time + 1.0)
    report = dataclasses.replace(original, ike_sas=[dataclasses.replace(sa, messages=[*sa.messages, late])])
    text = render_cisco(report, perspective="responder")
    last = text.splitlines()[-1]
    assert STAMP.sub("", last) == (
        "%CRYPTO-4-IKMP_NO_SA: IKE message from 192.0.2.1 has no SA and is not an initialization offer"
    )
