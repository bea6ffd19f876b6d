"""Every registered finding code is documented in docs/findings.md, and nothing else is."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from mailcheck import codes
from mailcheck.codes import REGISTRY, Code

FINDINGS_DOC = Path(__file__).parent.parent / "docs" / "findings.md"
CODE_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)*$")


def documented_codes() -> list[str]:
    return re.findall(r"^### `([^`]+)`", FINDINGS_DOC.read_text(encoding="utf-8"), re.M)


def test_registry_and_docs_list_the_same_codes() -> None:
    documented = documented_codes()
    assert len(documented) == len(set(documented)), "a code is documented twice"
    assert set(documented) == set(REGISTRY)


def test_codes_are_area_dot_kebab() -> None:
    for code in REGISTRY:
        assert CODE_PATTERN.match(code), code


def test_each_doc_entry_gives_severity_matching_the_registry() -> None:
    text = FINDINGS_DOC.read_text(encoding="utf-8")
    for code, entry in REGISTRY.items():
        block = text.split(f"### `{code}`", 1)[1].split("\n### ", 1)[0]
        assert f"**Severity:** {entry.severity.value}" in block, code


AREA_MODULES = ("dns", "reputation", "reports", "lint", "tls")


def test_every_area_code_is_re_exported_by_the_package() -> None:
    for area in AREA_MODULES:
        module = importlib.import_module(f"mailcheck.codes.{area}")
        for name, value in vars(module).items():
            if isinstance(value, Code):
                assert getattr(codes, name) is value, f"codes.{name} ({area})"


def test_registry_order_is_the_order_of_the_areas() -> None:
    declared = [
        value.id
        for area in AREA_MODULES
        for value in vars(importlib.import_module(f"mailcheck.codes.{area}")).values()
        if isinstance(value, Code)
    ]
    assert list(REGISTRY) == declared
