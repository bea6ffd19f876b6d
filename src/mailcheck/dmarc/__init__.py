"""DMARC: policy records, discovery by the RFC 9989 tree walk, audit and evaluation."""

from mailcheck.dmarc.audit import DmarcResult, audit_dmarc
from mailcheck.dmarc.discover import Discovery, discover_policy, organizational_domain
from mailcheck.dmarc.evaluate import DmarcEvaluation, evaluate_dmarc
from mailcheck.dmarc.record import DmarcRecord, ReportUri, parse_dmarc

__all__ = [
    "Discovery",
    "DmarcEvaluation",
    "DmarcRecord",
    "DmarcResult",
    "ReportUri",
    "audit_dmarc",
    "discover_policy",
    "evaluate_dmarc",
    "organizational_domain",
    "parse_dmarc",
]
