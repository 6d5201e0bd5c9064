"""IKEv2 (RFC 7296): payload dissection, exchange rules, and the engine that follows IKE SAs.

``payloads`` decodes payload chains into typed records, ``exchanges`` holds the exchange shapes as
data, ``engine`` groups messages into IKE SAs (sans-IO: datagrams in, events out).
"""
