"""SPF (RFC 7208): the record parser, the domain audit and check_host()."""

from mailcheck.spf.evaluate import SpfEvaluation, SpfVerdict, check_host
from mailcheck.spf.record import Mechanism, Modifier, Qualifier, SpfRecord, parse_spf

__all__ = [
    "Mechanism",
    "Modifier",
    "Qualifier",
    "SpfEvaluation",
    "SpfRecord",
    "SpfVerdict",
    "check_host",
    "parse_spf",
]
