"""Registry tables and the ``name`` helper (RFC 2408, 2407, 2409, 3947, 3706, IANA)."""

from __future__ import annotations

import pytest

from ikedecode.ike import registries
from ikedecode.ike.registries import (
    AUTHENTICATION_METHODS,
    BASE_AUTHENTICATION_METHOD,
    ENCAPSULATION_MODES,
    ESP_TRANSFORM_IDS,
    EXCHANGE_TYPES,
    GROUP_DESCRIPTIONS,
    NOTIFY_TYPES,
    PAYLOAD_TYPES,
    Registry,
    name,
    payload_type_name,
    short_name,
)

ALL_TABLES = [value for value in vars(registries).values() if isinstance(value, Registry)]


def test_unknown_value_gives_unknown_with_the_number():
    assert name(AUTHENTICATION_METHODS, 12) == "unassigned (12)"
    assert name(Registry("demo", {1: "one"}), 123) == "UNKNOWN (123)"
    assert name({1: "plain"}, 123) == "UNKNOWN (123)"
    assert name({1: "plain"}, 1) == "plain"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (14, "NO-PROPOSAL-CHOSEN"),
        (24, "AUTHENTICATION-FAILED"),
        (30, "UNEQUAL-PAYLOAD-LENGTHS"),
        (31, "reserved (31)"),
        (9101, "private use (9101)"),
        (16384, "CONNECTED"),
        (24576, "RESPONDER-LIFETIME"),
        (24577, "REPLAY-STATUS"),
        (24578, "INITIAL-CONTACT"),
        (24600, "DOI-specific (24600)"),
        (36136, "R-U-THERE"),
        (36137, "R-U-THERE-ACK"),
        (33000, "private use (33000)"),
        (40501, "UNITY-LOAD-BALANCE"),
        (50000, "reserved (50000)"),
    ],
)
def test_notify_types_and_ranges(value, text):
    assert name(NOTIFY_TYPES, value) == text


def test_all_rfc_2408_error_notifies_are_named():
    assert all(value in NOTIFY_TYPES for value in range(1, 31))


@pytest.mark.parametrize(
    ("value", "text"),
    [(2, "Identity Protection (Main Mode)"), (4, "Aggressive"), (5, "Informational"),
     (6, "Transaction (Config Mode)"), (32, "Quick Mode"), (33, "New Group Mode"), (34, "IKE_SA_INIT"),
     (37, "INFORMATIONAL"), (245, "private use (245)")],
)
def test_exchange_types(value, text):
    assert EXCHANGE_TYPES.name(value) == text


def test_payload_types_include_nat_t_drafts_and_cisco_fragmentation():
    assert payload_type_name(20) == "NAT-D (RFC 3947)" and payload_type_name(21) == "NAT-OA (RFC 3947)"
    assert PAYLOAD_TYPES.short_name(130) == "NAT-D" and PAYLOAD_TYPES.short_name(131) == "NAT-OA"
    assert payload_type_name(132) == "Cisco-Fragmentation"
    assert payload_type_name(14) == "Attributes"
    assert payload_type_name(41) == "Notify (IKEv2)"
    assert all(value in PAYLOAD_TYPES for value in range(1, 22))


@pytest.mark.parametrize(
    ("value", "text"),
    [(3, "ESP_3DES"), (11, "ESP_NULL"), (12, "ESP_AES-CBC"), (13, "ESP_AES-CTR"), (14, "ESP_AES-CCM_8"),
     (16, "ESP_AES-CCM_16"), (17, "unassigned (17)"), (18, "ESP_AES-GCM_8"), (20, "ESP_AES-GCM_16"),
     (22, "ESP_CAMELLIA"), (23, "ESP_NULL_AUTH_AES-GMAC"), (250, "private use (250)")],
)
def test_esp_transform_ids(value, text):
    assert ESP_TRANSFORM_IDS.name(value) == text


def test_ike_scan_short_group_names():
    # ike-scan prints Group=2:modp1024 and DH_Group=14:modp2048
    assert short_name(GROUP_DESCRIPTIONS, 2) == "modp1024"
    assert short_name(GROUP_DESCRIPTIONS, 14) == "modp2048"
    assert short_name(GROUP_DESCRIPTIONS, 40000) == "private use (40000)"
    assert all(value in GROUP_DESCRIPTIONS for value in range(1, 32))


def test_xauth_and_hybrid_methods_map_to_their_base_method():
    assert AUTHENTICATION_METHODS[65001] == "XAUTHInitPreShared"
    assert AUTHENTICATION_METHODS[64221] == "HybridInitRSA"
    for value, base in BASE_AUTHENTICATION_METHOD.items():
        assert value in AUTHENTICATION_METHODS and base in range(1, 6)
    assert BASE_AUTHENTICATION_METHOD[65001] == 1 and BASE_AUTHENTICATION_METHOD[65005] == 3


def test_udp_encapsulation_modes_standard_and_draft():
    assert [ENCAPSULATION_MODES[v] for v in (3, 4)] == [
        "UDP-Encapsulated-Tunnel", "UDP-Encapsulated-Transport"
    ]
    assert [ENCAPSULATION_MODES[v] for v in (61443, 61444)] == [
        "UDP-Encapsulated-Tunnel (draft)", "UDP-Encapsulated-Transport (draft)"
    ]


def test_reverse_lookup_by_full_or_short_name():
    assert AUTHENTICATION_METHODS.value_of("psk") == 1
    assert AUTHENTICATION_METHODS.value_of("Pre-shared key") == 1
    assert ESP_TRANSFORM_IDS.value_of("aesgcm16") == 20
    assert ESP_TRANSFORM_IDS.value_of("no-such") is None


def test_every_table_is_well_formed():
    assert len(ALL_TABLES) > 25
    for table in ALL_TABLES:
        assert isinstance(table, dict) and table.title
        assert set(table.short) <= set(table)
        shorts = list(table.short.values())
        assert len(shorts) == len(set(shorts)) or table is PAYLOAD_TYPES, table.title
        for low, high, label in table.ranges:
            assert low <= high and label
        assert all(isinstance(k, int) and isinstance(v, str) and v for k, v in table.items())
