"""docs/blocklists.md shows every zone of the catalogue and is regenerated from it."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PAGE = ROOT / "docs" / "blocklists.md"
TOML = ROOT / "src" / "mailcheck" / "reputation" / "blocklists.toml"


def test_page_lists_every_zone_of_the_toml() -> None:
    zones = tomllib.loads(TOML.read_text(encoding="utf-8"))["zones"]
    shown = set(re.findall(r"^\| `([^`]+)` \|", PAGE.read_text(encoding="utf-8"), re.M))
    assert set(zones) <= shown


def test_generated_tables_are_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_blocklists_doc", ROOT / "scripts" / "gen_blocklists_doc.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from mailcheck.reputation import builtin_catalogue

    text = PAGE.read_text(encoding="utf-8")
    assert module.updated_page(text, builtin_catalogue()) == text, (
        "run scripts/gen_blocklists_doc.py"
    )
