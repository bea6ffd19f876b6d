"""mailcheck: audit, sign and throttle mail for small mail hosters.

The public face of the library; see ``docs/api.md``. Names are imported on first use
(PEP 562), so ``import mailcheck`` does not load DNS, dkimpy or pyspf until a check
needs them.
"""

from __future__ import annotations

import typing

from mailcheck import _lazy

__version__ = "0.1.0"

_EXPORTS = {
    "CheckResult": "mailcheck.model",
    "CheckStatus": "mailcheck.model",
    "ConfigError": "mailcheck.errors",
    "DnsAnswer": "mailcheck.lookup",
    "DnsResolver": "mailcheck.lookup",
    "DnsStatus": "mailcheck.lookup",
    "DnsTimeout": "mailcheck.errors",
    "DomainReport": "mailcheck.audit",
    "Finding": "mailcheck.model",
    "IpReport": "mailcheck.reputation",
    "KeyFileError": "mailcheck.errors",
    "MailcheckError": "mailcheck.errors",
    "ParseError": "mailcheck.errors",
    "Resolver": "mailcheck.lookup",
    "Severity": "mailcheck.model",
    "SigningError": "mailcheck.errors",
    "SyncCallError": "mailcheck.errors",
    "TempError": "mailcheck.errors",
    "VerifyResult": "mailcheck.verify",
    "ZoneResolver": "mailcheck.lookup",
    "audit_domain": "mailcheck.audit",
    "audit_domain_sync": "mailcheck.sync",
    "audit_many": "mailcheck.bulk",
    "audit_many_sync": "mailcheck.sync",
    "check_ip": "mailcheck.reputation",
    "check_ip_sync": "mailcheck.sync",
    "check_many": "mailcheck.bulk",
    "check_many_sync": "mailcheck.sync",
    "read_authentication_results": "mailcheck.authresults",
    "report_schema": "mailcheck.schema",
    "to_dict": "mailcheck.model",
    "verify_message": "mailcheck.verify",
    "verify_message_sync": "mailcheck.sync",
}

__getattr__, __dir__ = _lazy.lazy_exports(__name__, _EXPORTS)

if typing.TYPE_CHECKING:
    from mailcheck.audit import DomainReport, audit_domain
    from mailcheck.authresults import read_authentication_results
    from mailcheck.bulk import audit_many, check_many
    from mailcheck.errors import (
        ConfigError,
        DnsTimeout,
        KeyFileError,
        MailcheckError,
        ParseError,
        SigningError,
        SyncCallError,
        TempError,
    )
    from mailcheck.lookup import DnsAnswer, DnsResolver, DnsStatus, Resolver, ZoneResolver
    from mailcheck.model import CheckResult, CheckStatus, Finding, Severity, to_dict
    from mailcheck.reputation import IpReport, check_ip
    from mailcheck.schema import report_schema
    from mailcheck.sync import (
        audit_domain_sync,
        audit_many_sync,
        check_ip_sync,
        check_many_sync,
        verify_message_sync,
    )
    from mailcheck.verify import VerifyResult, verify_message

__all__ = [
    "CheckResult",
    "CheckStatus",
    "ConfigError",
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
    "SyncCallError",
    "TempError",
    "VerifyResult",
    "ZoneResolver",
    "__version__",
    "audit_domain",
    "audit_domain_sync",
    "audit_many",
    "audit_many_sync",
    "check_ip",
    "check_ip_sync",
    "check_many",
    "check_many_sync",
    "read_authentication_results",
    "report_schema",
    "to_dict",
    "verify_message",
    "verify_message_sync",
]
