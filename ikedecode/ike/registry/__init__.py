"""Protocol registries as data, one module per registry family.

Import them through ``ikedecode.ike.registries``, the public facade; this package only
splits the tables so each file stays readable.
"""
