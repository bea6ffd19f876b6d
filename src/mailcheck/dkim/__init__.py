"""DKIM: key records in DNS, keys, signing and verification.

Shared by several modules; each adds its exports here.
"""

from mailcheck.dkim.audit import DkimAuditResult, SelectorResult, audit_dkim
from mailcheck.dkim.keys import DkimDnsRecord, DkimKey, KeyType, generate_key, load_key
from mailcheck.dkim.keystore import KeyStore
from mailcheck.dkim.publish import (
    PublishedKeyCheck,
    RotationPlan,
    check_published,
    plan_rotation,
    rotation_selector,
)
from mailcheck.dkim.record import DkimKeyRecord, parse_dkim_key
from mailcheck.dkim.sign import DkimSigner
from mailcheck.dkim.verify import DkimResult, DkimSignatureResult, verify_dkim

__all__ = [
    "DkimAuditResult",
    "DkimDnsRecord",
    "DkimKey",
    "DkimKeyRecord",
    "DkimResult",
    "DkimSignatureResult",
    "DkimSigner",
    "KeyStore",
    "KeyType",
    "PublishedKeyCheck",
    "RotationPlan",
    "SelectorResult",
    "audit_dkim",
    "check_published",
    "generate_key",
    "load_key",
    "parse_dkim_key",
    "plan_rotation",
    "rotation_selector",
    "verify_dkim",
]
