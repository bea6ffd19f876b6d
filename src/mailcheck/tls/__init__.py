"""Transport security of a mail domain: STARTTLS, MTA-STS, TLS-RPT, DNSSEC and DANE.

Pure parsers (``mtasts_record``, ``tlsrpt_record``, ``tlsa``) are apart from the
modules that do I/O (``starttls`` probes SMTP servers, ``mtasts_fetch`` fetches
policies over HTTPS behind an SSRF guard, ``dnssec`` validates answers);
``audit.audit_transport`` runs them all for one domain (``docs/transport-security.md``).
Names are imported on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailcheck._lazy import lazy_exports

if TYPE_CHECKING:
    from mailcheck.sync_more import (
        audit_dane_sync,
        audit_mtasts_sync,
        audit_tlsrpt_sync,
        audit_transport_sync,
        fetch_policy_sync,
        probe_many_sync,
        probe_starttls_sync,
    )
    from mailcheck.tls.audit import TlsOptions, audit_transport
    from mailcheck.tls.dane import audit_dane
    from mailcheck.tls.dnssec import DnssecChecker
    from mailcheck.tls.mtasts import audit_mtasts
    from mailcheck.tls.mtasts_fetch import fetch_policy
    from mailcheck.tls.mtasts_record import (
        MtaStsPolicy,
        MtaStsRecord,
        mx_pattern_matches,
        parse_mtasts_policy,
        parse_mtasts_record,
    )
    from mailcheck.tls.starttls import probe_many, probe_starttls
    from mailcheck.tls.tlsa import TlsaRecord, parse_tlsa, tlsa_matches
    from mailcheck.tls.tlsrpt import audit_tlsrpt
    from mailcheck.tls.tlsrpt_record import TlsRptRecord, parse_tlsrpt
    from mailcheck.tls.types import (
        DnssecStatus,
        MtaStsMode,
        ProbeStatus,
        TlsProbe,
        TransportResult,
    )

__all__ = [
    "DnssecChecker",
    "DnssecStatus",
    "MtaStsMode",
    "MtaStsPolicy",
    "MtaStsRecord",
    "ProbeStatus",
    "TlsOptions",
    "TlsProbe",
    "TlsRptRecord",
    "TlsaRecord",
    "TransportResult",
    "audit_dane",
    "audit_dane_sync",
    "audit_mtasts",
    "audit_mtasts_sync",
    "audit_tlsrpt",
    "audit_tlsrpt_sync",
    "audit_transport",
    "audit_transport_sync",
    "fetch_policy",
    "fetch_policy_sync",
    "mx_pattern_matches",
    "parse_mtasts_policy",
    "parse_mtasts_record",
    "parse_tlsa",
    "parse_tlsrpt",
    "probe_many",
    "probe_many_sync",
    "probe_starttls",
    "probe_starttls_sync",
    "tlsa_matches",
]

_WHERE = {
    "DnssecChecker": "dnssec",
    "DnssecStatus": "types",
    "MtaStsMode": "types",
    "MtaStsPolicy": "mtasts_record",
    "MtaStsRecord": "mtasts_record",
    "ProbeStatus": "types",
    "TlsOptions": "audit",
    "TlsProbe": "types",
    "TlsRptRecord": "tlsrpt_record",
    "TlsaRecord": "tlsa",
    "TransportResult": "types",
    "audit_dane": "dane",
    "audit_mtasts": "mtasts",
    "audit_tlsrpt": "tlsrpt",
    "audit_transport": "audit",
    "fetch_policy": "mtasts_fetch",
    "mx_pattern_matches": "mtasts_record",
    "parse_mtasts_policy": "mtasts_record",
    "parse_mtasts_record": "mtasts_record",
    "parse_tlsa": "tlsa",
    "parse_tlsrpt": "tlsrpt_record",
    "probe_many": "starttls",
    "probe_starttls": "starttls",
    "tlsa_matches": "tlsa",
}

# The blocking twins live with the other packages' twins, in mailcheck.sync_more.
_TWINS = (
    "audit_dane_sync",
    "audit_mtasts_sync",
    "audit_tlsrpt_sync",
    "audit_transport_sync",
    "fetch_policy_sync",
    "probe_many_sync",
    "probe_starttls_sync",
)

__getattr__, _ = lazy_exports(
    __name__,
    {
        **{name: f"{__name__}.{module}" for name, module in _WHERE.items()},
        **dict.fromkeys(_TWINS, "mailcheck.sync_more"),
    },
)


def __dir__() -> list[str]:
    return sorted(__all__)
