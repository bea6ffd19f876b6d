"""SPF (RFC 7208): the record parser, the domain audit and check_host()."""

from __future__ import annotations

import typing

from mailcheck import _lazy

# Each name and the module it lives in, imported on first use (PEP 562): importing
# the package stays cheap (no dkimpy, pyspf or DNS stack until a name needs them).
_EXPORTS = {
    "Mechanism": "mailcheck.spf.record",
    "Modifier": "mailcheck.spf.record",
    "Qualifier": "mailcheck.spf.record",
    "SpfEvaluation": "mailcheck.spf.evaluate",
    "SpfInclude": "mailcheck.spf.tree",
    "SpfIpResult": "mailcheck.spf.audit",
    "SpfRecord": "mailcheck.spf.record",
    "SpfResult": "mailcheck.spf.audit",
    "SpfTerm": "mailcheck.spf.tree",
    "SpfVerdict": "mailcheck.spf.evaluate",
    "audit_spf": "mailcheck.spf.audit",
    "audit_spf_sync": "mailcheck.sync",
    "check_host": "mailcheck.spf.evaluate",
    "check_host_sync": "mailcheck.sync",
    "judge_spf": "mailcheck.spf.audit",
    "parse_spf": "mailcheck.spf.record",
}

__getattr__, __dir__ = _lazy.lazy_exports(__name__, _EXPORTS)

if typing.TYPE_CHECKING:
    from mailcheck.spf.audit import SpfIpResult, SpfResult, audit_spf, judge_spf
    from mailcheck.spf.evaluate import SpfEvaluation, SpfVerdict, check_host
    from mailcheck.spf.record import Mechanism, Modifier, Qualifier, SpfRecord, parse_spf
    from mailcheck.spf.tree import SpfInclude, SpfTerm
    from mailcheck.sync import audit_spf_sync, check_host_sync

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
    "audit_spf_sync",
    "check_host",
    "check_host_sync",
    "judge_spf",
    "parse_spf",
]
