"""ikedecode: rebuild, decrypt and explain IKE/IPsec negotiations from packet captures."""

__version__ = "0.1.0"
