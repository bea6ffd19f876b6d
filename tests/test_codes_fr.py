"""The French findings reference documents every registered code, and nothing else.

docs/findings.fr.md mirrors docs/findings.md: the same `### \\`code\\`` headings (so anchors and
links work in both languages), in the same order, each with the registry's severity in French.
"""

from __future__ import annotations

import re
from pathlib import Path

from mailcheck.codes import REGISTRY
from mailcheck.model import Severity

DOCS = Path(__file__).parent.parent / "docs"
FINDINGS_FR = DOCS / "findings.fr.md"
FINDINGS_EN = DOCS / "findings.md"
HEADING = re.compile(r"^### `([^`]+)`", re.M)
SEVERITY_FR = {
    Severity.ERROR: "erreur",
    Severity.WARNING: "avertissement",
    Severity.INFO: "info",
}


def read(path: Path) -> str:
    # French typography puts a no-break space (U+00A0 or U+202F) before ":"; compare as spaces.
    return path.read_text(encoding="utf-8").replace("\u00a0", " ").replace("\u202f", " ")


def documented_codes(path: Path) -> list[str]:
    return HEADING.findall(read(path))


def test_registry_and_french_docs_list_the_same_codes() -> None:
    documented = documented_codes(FINDINGS_FR)
    assert len(documented) == len(set(documented)), "a code is documented twice"
    assert set(documented) == set(REGISTRY)


def test_french_entries_follow_the_english_order() -> None:
    english = documented_codes(FINDINGS_EN)
    french = [code for code in documented_codes(FINDINGS_FR) if code in english]
    assert french == [code for code in english if code in french]


def test_each_french_entry_gives_severity_matching_the_registry() -> None:
    text = read(FINDINGS_FR)
    for code, entry in REGISTRY.items():
        block = text.split(f"### `{code}`", 1)[1].split("\n### ", 1)[0]
        assert f"**Gravité :** {SEVERITY_FR[entry.severity]}" in block, code


def test_every_severity_has_a_french_label() -> None:
    assert set(SEVERITY_FR) == set(Severity)


def test_the_two_versions_link_to_each_other() -> None:
    assert "(findings.md)" in read(FINDINGS_FR)
    assert "(findings.fr.md)" in read(FINDINGS_EN)
