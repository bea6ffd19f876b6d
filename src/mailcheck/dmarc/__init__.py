"""DMARC: policy records, discovery by the RFC 9989 tree walk, audit and evaluation."""

from __future__ import annotations

import typing

from mailcheck import _lazy

# Each name and the module it lives in, imported on first use (PEP 562): importing
# the package stays cheap (no dkimpy, pyspf or DNS stack until a name needs them).
_EXPORTS = {
    "Discovery": "mailcheck.dmarc.discover",
    "DmarcEvaluation": "mailcheck.dmarc.evaluate",
    "DmarcLint": "mailcheck.dmarc.record",
    "DmarcMode": "mailcheck.dmarc.record",
    "DmarcPolicy": "mailcheck.dmarc.record",
    "DmarcRecord": "mailcheck.dmarc.record",
    "DmarcResult": "mailcheck.dmarc.audit",
    "DmarcTagError": "mailcheck.dmarc.record",
    "DmarcVerdict": "mailcheck.dmarc.evaluate",
    "ReportUri": "mailcheck.dmarc.record",
    "audit_dmarc": "mailcheck.dmarc.audit",
    "audit_dmarc_sync": "mailcheck.sync",
    "discover_policy": "mailcheck.dmarc.discover",
    "discover_policy_sync": "mailcheck.sync",
    "evaluate_dmarc": "mailcheck.dmarc.evaluate",
    "evaluate_dmarc_sync": "mailcheck.sync",
    "lint_dmarc": "mailcheck.dmarc.record",
    "organizational_domain": "mailcheck.dmarc.discover",
    "organizational_domain_sync": "mailcheck.sync",
    "parse_dmarc": "mailcheck.dmarc.record",
}

__getattr__, __dir__ = _lazy.lazy_exports(__name__, _EXPORTS)

if typing.TYPE_CHECKING:
    from mailcheck.dmarc.audit import DmarcResult, audit_dmarc
    from mailcheck.dmarc.discover import Discovery, discover_policy, organizational_domain
    from mailcheck.dmarc.evaluate import DmarcEvaluation, DmarcVerdict, evaluate_dmarc
    from mailcheck.dmarc.record import (
        DmarcLint,
        DmarcMode,
        DmarcPolicy,
        DmarcRecord,
        DmarcTagError,
        ReportUri,
        lint_dmarc,
        parse_dmarc,
    )
    from mailcheck.sync import (
        audit_dmarc_sync,
        discover_policy_sync,
        evaluate_dmarc_sync,
        organizational_domain_sync,
    )

__all__ = [
    "Discovery",
    "DmarcEvaluation",
    "DmarcLint",
    "DmarcMode",
    "DmarcPolicy",
    "DmarcRecord",
    "DmarcResult",
    "DmarcTagError",
    "DmarcVerdict",
    "ReportUri",
    "audit_dmarc",
    "audit_dmarc_sync",
    "discover_policy",
    "discover_policy_sync",
    "evaluate_dmarc",
    "evaluate_dmarc_sync",
    "lint_dmarc",
    "organizational_domain",
    "organizational_domain_sync",
    "parse_dmarc",
]
