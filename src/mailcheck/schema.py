"""The JSON Schema of a domain report, shipped in the package.

Control panels validate what they store against it::

    import jsonschema
    from mailcheck import audit_domain_sync, report_schema

    jsonschema.validate(audit_domain_sync("example.org").to_dict(), report_schema())

``docs/report.schema.json`` is a copy of the packaged file (a test keeps them equal).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_FILE = "report.schema.json"


def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :meth:`DomainReport.to_dict` and of
    ``mailcheck audit --format json``, as a fresh dict (change it freely)."""
    text = resources.files("mailcheck").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
