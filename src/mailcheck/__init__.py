"""mailcheck: audit, sign and throttle mail for small mail hosters.

The public face of the library; see ``docs/api.md``.
"""

from __future__ import annotations

from mailcheck.audit import DomainReport, audit_domain, audit_domain_sync
from mailcheck.authresults import read_authentication_results
from mailcheck.errors import (
    ConfigError,
    DeliveryError,
    DnsTimeout,
    KeyFileError,
    MailcheckError,
    ParseError,
    SigningError,
    TempError,
)
from mailcheck.lookup import DnsAnswer, DnsResolver, DnsStatus, Resolver, ZoneResolver
from mailcheck.model import CheckResult, CheckStatus, Finding, Severity, to_dict
from mailcheck.reputation import IpReport, check_ip
from mailcheck.verify import VerifyResult, verify_message, verify_message_sync

__version__ = "0.1.0"

__all__ = [
    "CheckResult",
    "CheckStatus",
    "ConfigError",
    "DeliveryError",
    "DnsAnswer",
    "DnsResolver",
    "DnsStatus",
    "DnsTimeout",
    "DomainReport",
    "Finding",
    "IpReport",
    "KeyFileError",
    "MailcheckError",
    "ParseError",
    "Resolver",
    "Severity",
    "SigningError",
    "TempError",
    "VerifyResult",
    "ZoneResolver",
    "__version__",
    "audit_domain",
    "audit_domain_sync",
    "check_ip",
    "read_authentication_results",
    "to_dict",
    "verify_message",
    "verify_message_sync",
]
