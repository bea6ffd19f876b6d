"""Mailing lists and DMARC: when to mitigate a post, and the two mitigations.

- :func:`mitigation_for` reads the From domain's DMARC policy (and the data file of
  domains enforced more strictly than they publish) and answers ``none``,
  ``rewrite-from`` or ``wrap``, with the reason and the policy facts;
- :func:`rewrite_from` rewrites the From the way Mailman and Sympa do;
- :func:`wrap` sends the post as a ``message/rfc822`` attachment of a message from the list.

The list then DKIM-signs the result with its own domain
(:class:`~mailcheck.dkim.sign.DkimSigner`). See ``docs/lists.md``.
"""

from __future__ import annotations

import typing

from mailcheck import _lazy

_EXPORTS = {
    "Enforcer": "mailcheck.lists.enforcers",
    "EnforcerSource": "mailcheck.lists.enforcers",
    "Enforcers": "mailcheck.lists.enforcers",
    "KeepOriginal": "mailcheck.lists.types",
    "Mitigation": "mailcheck.lists.types",
    "MitigationAction": "mailcheck.lists.types",
    "MitigationError": "mailcheck.lists.types",
    "MitigationReason": "mailcheck.lists.types",
    "from_domain": "mailcheck.lists.policy",
    "load_enforcers": "mailcheck.lists.enforcers",
    "mitigation_for": "mailcheck.lists.policy",
    "mitigation_for_sync": "mailcheck.sync_more",
    "rewrite_from": "mailcheck.lists.rewrite",
    "wrap": "mailcheck.lists.rewrite",
}

__getattr__, __dir__ = _lazy.lazy_exports(__name__, _EXPORTS)

if typing.TYPE_CHECKING:
    from mailcheck.lists.enforcers import Enforcer, Enforcers, EnforcerSource, load_enforcers
    from mailcheck.lists.policy import from_domain, mitigation_for
    from mailcheck.lists.rewrite import rewrite_from, wrap
    from mailcheck.lists.types import (
        KeepOriginal,
        Mitigation,
        MitigationAction,
        MitigationError,
        MitigationReason,
    )
    from mailcheck.sync_more import mitigation_for_sync

__all__ = [
    "Enforcer",
    "EnforcerSource",
    "Enforcers",
    "KeepOriginal",
    "Mitigation",
    "MitigationAction",
    "MitigationError",
    "MitigationReason",
    "from_domain",
    "load_enforcers",
    "mitigation_for",
    "mitigation_for_sync",
    "rewrite_from",
    "wrap",
]
