"""SPF (RFC 7208): the record parser, the domain audit and check_host()."""

from mailcheck.spf.audit import SpfIpResult, SpfResult, audit_spf, judge_spf
from mailcheck.spf.evaluate import SpfEvaluation, SpfVerdict, check_host
from mailcheck.spf.record import Mechanism, Modifier, Qualifier, SpfRecord, parse_spf
from mailcheck.spf.tree import SpfInclude, SpfTerm

__all__ = [
    "Mechanism",
    "Modifier",
    "Qualifier",
    "SpfEvaluation",
    "SpfInclude",
    "SpfIpResult",
    "SpfRecord",
    "SpfResult",
    "SpfTerm",
    "SpfVerdict",
    "audit_spf",
    "check_host",
    "judge_spf",
    "parse_spf",
]
