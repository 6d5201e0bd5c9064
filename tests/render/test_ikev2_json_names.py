"""IKEv2 SAs in the JSON carry RFC 7296's names for what IKEv1 calls cookies, and the rekey link."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ikedecode.cli import main
from tests.conftest import CAPTURES_DIR, KEYS_DIR


def test_ikev2_sas_name_their_spis_and_the_sa_they_rekeyed():
    name = "ikev2-ike-rekey"
    args = [str(CAPTURES_DIR / f"{name}.pcap"), "--keys", str(KEYS_DIR / f"{name}.toml"), "--format", "json"]
    result = CliRunner().invoke(main, [*args, "-q"], catch_exceptions=False)
    sas = json.loads(result.stdout)["ike_sas"]
    assert len(sas) == 3
    pairs = [f"{sa['initiator_spi']}/{sa['responder_spi']}" for sa in sas]
    assert [sa["initiator_spi"] for sa in sas] == [sa["initiator_cookie"] for sa in sas]
    # the first from IKE_SA_INIT, each later one a rekey of the one before (west, then east rekeyed)
    assert [sa["rekey_of"] for sa in sas] == [None, pairs[0], pairs[1]]
