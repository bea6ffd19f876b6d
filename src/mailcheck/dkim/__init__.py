"""DKIM: key records in DNS, keys, signing and verification.

Shared by several modules; each adds its exports here.
"""

from mailcheck.dkim.keys import DkimDnsRecord, DkimKey, KeyType, generate_key, load_key
from mailcheck.dkim.keystore import KeyStore
from mailcheck.dkim.record import DkimKeyRecord, parse_dkim_key
from mailcheck.dkim.sign import DkimSigner

__all__ = [
    "DkimDnsRecord",
    "DkimKey",
    "DkimKeyRecord",
    "DkimSigner",
    "KeyStore",
    "KeyType",
    "generate_key",
    "load_key",
    "parse_dkim_key",
]
