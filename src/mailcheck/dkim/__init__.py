"""DKIM: key records in DNS, keys, signing and verification.

Shared by several modules; each adds its exports here.
"""

from __future__ import annotations

import typing

from mailcheck import _lazy

# Each name and the module it lives in, imported on first use (PEP 562): importing
# the package stays cheap (no dkimpy, pyspf or DNS stack until a name needs them).
_EXPORTS = {
    "ArcResult": "mailcheck.dkim.arc_verify",
    "ArcSealer": "mailcheck.dkim.arc_seal",
    "ArcSetResult": "mailcheck.dkim.arc_verify",
    "ArcVerdict": "mailcheck.dkim.arc_verify",
    "DkimAuditResult": "mailcheck.dkim.audit",
    "DkimDnsRecord": "mailcheck.dkim.keys",
    "DkimKey": "mailcheck.dkim.keys",
    "DkimKeyRecord": "mailcheck.dkim.record",
    "DkimResult": "mailcheck.dkim.verify",
    "DkimSignatureResult": "mailcheck.dkim.verify",
    "DkimSigner": "mailcheck.dkim.sign",
    "DkimVerdict": "mailcheck.dkim.verify",
    "KeyStore": "mailcheck.dkim.keystore",
    "KeyType": "mailcheck.dkim.keys",
    "PublishedKeyCheck": "mailcheck.dkim.publish",
    "RotationPlan": "mailcheck.dkim.publish",
    "SelectorResult": "mailcheck.dkim.audit",
    "audit_dkim": "mailcheck.dkim.audit",
    "audit_dkim_sync": "mailcheck.sync",
    "check_published": "mailcheck.dkim.publish",
    "check_published_sync": "mailcheck.sync",
    "generate_key": "mailcheck.dkim.keys",
    "load_key": "mailcheck.dkim.keys",
    "parse_dkim_key": "mailcheck.dkim.record",
    "plan_rotation": "mailcheck.dkim.publish",
    "rotation_selector": "mailcheck.dkim.publish",
    "verify_dkim": "mailcheck.dkim.verify",
    "verify_dkim_sync": "mailcheck.sync",
}

__getattr__, __dir__ = _lazy.lazy_exports(__name__, _EXPORTS)

if typing.TYPE_CHECKING:
    from mailcheck.dkim.arc_seal import ArcSealer
    from mailcheck.dkim.arc_verify import ArcResult, ArcSetResult, ArcVerdict
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
    from mailcheck.dkim.verify import DkimResult, DkimSignatureResult, DkimVerdict, verify_dkim
    from mailcheck.sync import audit_dkim_sync, check_published_sync, verify_dkim_sync

__all__ = [
    "ArcResult",
    "ArcSealer",
    "ArcSetResult",
    "ArcVerdict",
    "DkimAuditResult",
    "DkimDnsRecord",
    "DkimKey",
    "DkimKeyRecord",
    "DkimResult",
    "DkimSignatureResult",
    "DkimSigner",
    "DkimVerdict",
    "KeyStore",
    "KeyType",
    "PublishedKeyCheck",
    "RotationPlan",
    "SelectorResult",
    "audit_dkim",
    "audit_dkim_sync",
    "check_published",
    "check_published_sync",
    "generate_key",
    "load_key",
    "parse_dkim_key",
    "plan_rotation",
    "rotation_selector",
    "verify_dkim",
    "verify_dkim_sync",
]
