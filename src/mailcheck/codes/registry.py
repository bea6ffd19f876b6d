"""The registry itself: :class:`Code`, ``REGISTRY`` and ``_code`` (used by the area modules).

Severity shorthands ``E``, ``W``, ``I`` keep the registrations one line each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mailcheck.model import Finding, Severity


@dataclasses.dataclass(frozen=True, slots=True)
class Code:
    """A registered finding code and how to make findings with it."""

    id: str
    severity: Severity
    title: str
    reference: str | None = None

    def finding(
        self,
        subject: str,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        fix: str | None = None,
        severity: Severity | None = None,
        reference: str | None = None,
    ) -> Finding:
        """A :class:`Finding` with this code; severity and reference default to the code's."""
        return Finding(
            code=self.id,
            severity=severity or self.severity,
            subject=subject,
            message=message,
            details=dict(details or {}),
            fix=fix,
            reference=reference or self.reference,
        )


REGISTRY: dict[str, Code] = {}


def _code(id: str, severity: Severity, title: str, reference: str | None = None) -> Code:
    if id in REGISTRY:
        raise RuntimeError(f"finding code {id} registered twice")
    code = Code(id, severity, title, reference)
    REGISTRY[id] = code
    return code


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741
